#pragma once

// The SQLite store's idempotency keys, laid out so that a new key costs a sequential
// append instead of a random B-tree page (persistence/README.md, "Key layout").
//
// A new key that sorts after every key of the newest *run* (a WITHOUT ROWID table like
// `request_keys`, which is run 0) is appended to it: increasing keys, as time-ordered ids
// are, cost what a plain table costs. Any other new key goes to `request_key_log`, a rowid
// table written in arrival order, whose keys this connection also holds in memory (key
// hash -> rowid). When the log reaches its bound, its keys are written sorted into a new
// run, or appended to the newest run when they all sort after it. Four small runs are
// merged into one. Every key is in exactly one place; runs are found through an
// in-memory Bloom filter each, so a new key reads no run at all.
//
// Other connections (another node on the same file, the CLI) may write too. Every
// transaction calls sync() first, under its lock: `PRAGMA data_version` tells whether
// another connection committed; if so, the log rows and newest run's keys past those
// known are read, and when the layout's epoch moved (a flush, merge or purge rewrote
// tables) the run list is read again, known runs past their last known key.

#include "phoenix/persistence/types.hpp"
#include "sqlite/sqlite_db.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace phoenix::persistence::sqlite {

/// A blocked Bloom filter over a run's keys: a key's bits all lie in one 64-byte line,
/// so a test costs one cache miss however large the run (a plain filter of a 1M-key run
/// cost about one miss a bit). About 1-2 % false positives at its capacity.
class key_filter {
public:
  explicit key_filter(std::size_t capacity);
  /// One hash serves every filter a key is tested against.
  static std::uint64_t hash(std::string_view key) noexcept;
  void add(std::uint64_t h) noexcept;
  bool may_contain(std::uint64_t h) const noexcept;
  std::size_t capacity() const noexcept { return capacity_; }

private:
  struct alignas(64) line {
    std::uint64_t words[8];
  };
  std::size_t capacity_;
  std::vector<line> lines_;
};

/// The log's keys in memory: 64-bit key hash -> rowid, open addressing, 16 bytes a key
/// and one cache miss a lookup (a map of strings cost about a fifth of the store's time).
/// A hash names candidates only; the caller checks the key on the row.
class log_table {
public:
  void clear() noexcept;
  std::size_t size() const noexcept { return used_; }
  void insert(std::uint64_t h, std::int64_t rowid);
  /// The rowids of the rows whose key has hash `h`, most recent last.
  template <class F>
  void each(std::uint64_t h, F&& f) const {
    if (slots_.empty())
      return;
    for (std::size_t i = h & (slots_.size() - 1); slots_[i].rowid != 0;
         i = (i + 1) & (slots_.size() - 1))
      if (slots_[i].hash == h)
        f(slots_[i].rowid);
  }
  template <class F>
  void each_hash(F&& f) const {
    for (const auto& s : slots_)
      if (s.rowid != 0)
        f(s.hash);
  }

private:
  struct slot {
    std::uint64_t hash;
    std::int64_t rowid; ///< 0: empty (rowids start at 1).
  };
  std::vector<slot> slots_;
  std::size_t used_ = 0;
};

struct key_row {
  int state = 0; ///< 0 (released: absent), detail::state_claimed or state_completed.
  std::int64_t claimed_at_us = 0, lease_until_us = 0, completed_at_us = 0;
};

class key_index {
public:
  /// `log_rows`: keys the log holds before they are sorted into a run.
  key_index(sqlite3* db, std::size_t log_rows);
  ~key_index();
  key_index(const key_index&) = delete;
  key_index& operator=(const key_index&) = delete;

  /// Runs `f` in a transaction begun with `begin` ("BEGIN IMMEDIATE" to write, "BEGIN"
  /// to read) after sync(), then commits; on any exception after the begin rolls back,
  /// invalidates, calls `rolled_back` and rethrows. Every transaction of the store that
  /// touches keys goes through here.
  template <class F, class R = void (*)()>
  void in_transaction(
      const char* begin, F&& f, R&& rolled_back = [] {}) {
    exec(db_, begin);
    try {
      sync();
      f();
      exec(db_, "COMMIT");
      committed();
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      invalidate();
      rolled_back();
      throw;
    }
  }
  /// After a rolled-back savepoint: memory may hold what was undone. The log is read
  /// again at its next use, the layout at the next sync().
  void invalidate() noexcept;

  claim_outcome claim(const std::string& key, std::int64_t now_us,
                      std::int64_t lease_until_us, const std::string& owner);
  void complete(const std::string& key, std::int64_t now_us);
  void release(const std::string& key);
  std::optional<key_row> find(const std::string& key);
  /// Deletes completed keys older than the cutoff, inside the caller's transaction;
  /// drops runs left empty. Returns the number of keys deleted.
  std::uint64_t purge(std::int64_t cutoff_us);

  /// Outside any transaction, after a commit: sorts a full log into a run, merges small
  /// runs, each in a transaction of its own. Throws db_failure (the caller's data is
  /// committed already; the work is tried again after the next commit).
  void maintain();
  /// Whether maintain() has work, as far as this connection knows.
  bool due() const;

private:
  struct run;
  /// Inside a transaction, before any other call: brings memory up to the database.
  void sync();
  /// After a commit: what this connection appended to runs is now everyone's.
  void committed() noexcept;
  void load_layout();
  void load_log(bool from_start);
  /// Rowids of the log rows whose key has hash `h` (almost always none or one), in a
  /// vector reused by the next call.
  const std::vector<std::int64_t>& log_candidates(std::uint64_t h);
  /// The row just inserted into the log, of key hash `h`, is in memory too.
  void logged(std::uint64_t h);
  /// The log row `rowid` if its key is `key` (state 0: released).
  std::optional<key_row> log_row(std::int64_t rowid, const std::string& key);
  std::unique_ptr<run> open_run(std::int64_t id, std::string name, std::int64_t keys);
  void fill_filter(run& r, bool growing = false);
  void extend(run& r);
  run* append_target(const std::string& key, std::int64_t now_us);
  void appended(run& r, const std::string& key, std::uint64_t h);
  bool small(const run& r) const;
  void flush();
  void merge();
  /// Creates the table of a run to be registered (id and name, registry not written).
  std::pair<std::int64_t, std::string> new_run_table();
  /// Drops a run's table and its registry row.
  void drop_run_table(std::int64_t id, const std::string& name);
  void bump_epoch();
  statement& get(const char* sql) { return stmts_.get(db_, sql); }

  sqlite3* db_;
  std::size_t log_rows_;
  statement_cache stmts_;
  std::vector<std::unique_ptr<run>> runs_; ///< Oldest first.
  log_table log_;
  std::vector<std::int64_t> candidates_; ///< log_candidates()'s result.
  std::int64_t log_max_id_ = 0;
  std::int64_t epoch_ = -1;
  std::int64_t data_version_ = -1;
  bool log_stale_ = true;
};

} // namespace phoenix::persistence::sqlite
