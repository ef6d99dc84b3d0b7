#include "sqlite/key_index.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <spdlog/spdlog.h>
#include <tuple>

namespace phoenix::persistence::sqlite {
namespace {

using detail::state_claimed;
using detail::state_completed;
constexpr int state_released = 0; // a row whose claim was released: the key is absent

constexpr std::uint64_t filter_probes = 7; // with 10 bits a key: 1-2 % false positives
constexpr std::size_t filter_bits_per_key = 10;
constexpr std::size_t merge_fan_in = 4; // small runs merged at once; "small": < 4 logs

std::uint64_t mix(std::uint64_t x) { // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Statement texts double as keys of the statement cache.
constexpr const char* data_version_sql = "PRAGMA data_version";
constexpr const char* epoch_sql = "SELECT epoch FROM request_key_layout";
constexpr const char* bump_epoch_sql = "UPDATE request_key_layout SET epoch = epoch + 1";
constexpr const char* runs_sql =
    "SELECT id, name, keys, oldest_us, generation FROM request_key_runs ORDER BY id";
constexpr const char* log_scan_sql =
    "SELECT id, key FROM request_key_log WHERE id > ?1 ORDER BY id";
// A new key, claimed (key, now, lease_until, owner) or completed (key, now), in the log
// or appended to a run.
std::string claim_insert_sql(const std::string& table) {
  return "INSERT INTO " + table + "(key, state, claimed_at_us, lease_until_us, owner) " +
         "VALUES (?1, 1, ?2, ?3, ?4)";
}
std::string complete_insert_sql(const std::string& table) {
  return "INSERT INTO " + table + "(key, state, claimed_at_us, lease_until_us, " +
         "completed_at_us) VALUES (?1, 2, ?2, ?2, ?2)";
}
const std::string log_claim_insert = claim_insert_sql("request_key_log");
const std::string log_complete_insert = complete_insert_sql("request_key_log");
// The statements on one row, of the log or of a run; `row` selects it: a run's by key
// (?1), a log row by rowid (?1) and key (?9), the key checked so that two keys of one hash
// never touch each other's row. A row of state 0 is a released key, that is an absent one.
// The claim rule is the PostgreSQL backend's.
std::string claim_update_sql(const std::string& table, const std::string& row) {
  return "UPDATE " + table +
         " SET state = 1, claimed_at_us = ?2, lease_until_us = ?3, owner = ?4 WHERE " +
         row +
         " AND (state = 0 OR (state = 1 AND (lease_until_us <= ?2 OR "
         "(?4 <> '' AND owner = ?4))))";
}
// Completing a released key is completing an absent one: its times are now.
std::string complete_update_sql(const std::string& table, const std::string& row) {
  return "UPDATE " + table +
         " SET state = 2, completed_at_us = ?2, "
         "claimed_at_us = CASE state WHEN 0 THEN ?2 ELSE claimed_at_us END, "
         "lease_until_us = CASE state WHEN 0 THEN ?2 ELSE lease_until_us END WHERE " +
         row + " AND state <> 2";
}
std::string release_update_sql(const std::string& table, const std::string& row) {
  return "UPDATE " + table + " SET state = 0 WHERE " + row + " AND state = 1";
}
std::string row_sql(const std::string& table, const std::string& row) {
  return "SELECT state, claimed_at_us, lease_until_us, completed_at_us FROM " + table +
         " WHERE " + row;
}
constexpr const char* log_row_where = "id = ?1 AND key = ?9";
constexpr const char* run_row_where = "key = ?1";
const std::string log_claim = claim_update_sql("request_key_log", log_row_where);
const std::string log_complete = complete_update_sql("request_key_log", log_row_where);
const std::string log_release = release_update_sql("request_key_log", log_row_where);
const std::string log_get = row_sql("request_key_log", log_row_where);
constexpr const char* log_purge_sql =
    "DELETE FROM request_key_log WHERE state = 2 AND completed_at_us < ?1";
// The first and last key, and the purge bound (run::oldest_us) of what a flush moves.
constexpr const char* log_bounds_sql =
    "SELECT min(key), max(key), "
    "min(CASE state WHEN 2 THEN completed_at_us ELSE claimed_at_us END) "
    "FROM request_key_log WHERE state <> 0";
constexpr const char* log_clear_sql = "DELETE FROM request_key_log";
constexpr const char* next_run_sql =
    "SELECT coalesce(max(id), 0) + 1 FROM request_key_runs";
constexpr const char* add_run_sql =
    "INSERT INTO request_key_runs(id, name, keys, oldest_us) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* grow_run_sql =
    "UPDATE request_key_runs SET keys = keys + ?2, oldest_us = min(oldest_us, ?3) "
    "WHERE id = ?1";
constexpr const char* bound_run_sql =
    "UPDATE request_key_runs SET oldest_us = ?2 WHERE id = ?1";
constexpr const char* next_generation_sql =
    "UPDATE request_key_runs SET generation = generation + 1 WHERE id = ?1";
constexpr const char* drop_run_sql = "DELETE FROM request_key_runs WHERE id = ?1";

constexpr const char* run_columns =
    "key, state, claimed_at_us, lease_until_us, completed_at_us, owner";

std::string quoted(const std::string& name) {
  return "\"" + name + "\"";
}

void create_run_table(sqlite3* db, const std::string& name) {
  // The columns of request_keys (run 0) after schema step 3, in its order.
  exec(db, "CREATE TABLE " + quoted(name) +
               " (key TEXT PRIMARY KEY, state INTEGER NOT NULL, "
               "claimed_at_us INTEGER NOT NULL, lease_until_us INTEGER NOT NULL, "
               "completed_at_us INTEGER, owner TEXT NOT NULL DEFAULT '') WITHOUT ROWID");
}

std::int64_t single_int(statement& s) {
  std::int64_t v = s.step() ? s.int64(0) : 0;
  s.reset();
  return v;
}

// The row a bound row_sql() statement selects, if any.
std::optional<key_row> read_row(statement& s) {
  std::optional<key_row> r;
  if (s.step())
    r = key_row{static_cast<int>(s.int64(0)), s.int64(1), s.int64(2), s.int64(3)};
  s.reset();
  return r;
}

} // namespace

key_filter::key_filter(std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1024)),
      lines_((capacity_ * filter_bits_per_key + 511) / 512, line{}) {}

std::uint64_t key_filter::hash(std::string_view key) noexcept {
  return std::hash<std::string_view>{}(key);
}

// The line from the hash, the bits in it from a second, mixed one: 7 x 9 bits of it.
void key_filter::add(std::uint64_t h) noexcept {
  auto& l = lines_[h % lines_.size()];
  for (std::uint64_t m = mix(h), i = 0; i < filter_probes; ++i, m >>= 9)
    l.words[(m >> 6) & 7] |= std::uint64_t{1} << (m & 63);
}

bool key_filter::may_contain(std::uint64_t h) const noexcept {
  const auto& l = lines_[h % lines_.size()];
  for (std::uint64_t m = mix(h), i = 0; i < filter_probes; ++i, m >>= 9)
    if (!(l.words[(m >> 6) & 7] & (std::uint64_t{1} << (m & 63))))
      return false;
  return true;
}

void log_table::clear() noexcept {
  slots_.clear();
  used_ = 0;
}

void log_table::insert(std::uint64_t h, std::int64_t rowid) {
  if (2 * (used_ + 1) > slots_.size()) { // at most half full
    std::vector<slot> old(std::max<std::size_t>(1024, 2 * slots_.size()), slot{0, 0});
    old.swap(slots_);
    used_ = 0;
    for (const auto& s : old)
      if (s.rowid != 0)
        insert(s.hash, s.rowid);
  }
  std::size_t i = h & (slots_.size() - 1);
  while (slots_[i].rowid != 0)
    i = (i + 1) & (slots_.size() - 1);
  slots_[i] = {h, rowid};
  ++used_;
}

// One run: its table, its filter, its statements (finalized before the table is dropped).
// The filter starts empty, with room for `filter_capacity` keys.
struct key_index::run {
  run(sqlite3* db, std::int64_t id_, std::string name_, std::int64_t keys_,
      std::size_t filter_capacity)
      : id(id_), name(std::move(name_)), keys(keys_), filter(filter_capacity),
        claim(db, claim_update_sql(quoted(name), run_row_where)),
        get(db, row_sql(quoted(name), run_row_where)),
        complete(db, complete_update_sql(quoted(name), run_row_where)),
        release(db, release_update_sql(quoted(name), run_row_where)),
        purge(db,
              "DELETE FROM " + quoted(name) + " WHERE state = 2 AND completed_at_us < ?1"),
        purge_released(db, "DELETE FROM " + quoted(name) +
                               " WHERE state = 0 AND claimed_at_us < ?1"),
        last(db, "SELECT max(key) FROM " + quoted(name)),
        bound(db, "SELECT min(CASE state WHEN 2 THEN completed_at_us ELSE claimed_at_us "
                  "END) FROM " +
                      quoted(name)),
        insert_claim(db, claim_insert_sql(quoted(name))),
        insert_complete(db, complete_insert_sql(quoted(name))),
        after(db, "SELECT key FROM " + quoted(name) + " WHERE key > ?1 ORDER BY key") {}

  std::optional<key_row> row(const std::string& key) { return read_row(get.bind(1, key)); }

  /// The largest key in the table ("": empty).
  std::string read_max_key() {
    std::string k = last.step() ? last.text(0) : std::string{};
    last.reset();
    return k;
  }

  std::int64_t id;
  std::string name;
  std::int64_t keys; ///< Rows when read, plus keys appended since (purges not counted).
  /// Run 0 has an index on completion times. The others have this instead: no row has
  /// or will get a completion time before it (a claimed row's claim time stands in for
  /// its completion), so a purge scans only the runs that start before its cutoff.
  std::int64_t oldest_us = 0;
  std::string max_key; ///< The last key this connection knows in it ("": none).
  /// max_key as of this connection's last sync or commit: every key of the run that its
  /// filter lacks sorts after it (others append only past the committed end), so reading
  /// on from here is safe even when this connection's own appends were rolled back.
  std::string synced_max;
  key_filter filter;
  std::int64_t generation = 0; ///< As listed when read; a purge that deletes moves it.
  statement claim, get, complete, release, purge, purge_released, last, bound, insert_claim,
      insert_complete, after;
};

key_index::key_index(sqlite3* db, std::size_t log_rows)
    : db_(db), log_rows_(std::max<std::size_t>(log_rows, 1)) {}

key_index::~key_index() = default;

void key_index::sync() {
  const std::int64_t version = single_int(get(data_version_sql));
  if (version != data_version_ || epoch_ < 0) {
    const std::int64_t epoch = single_int(get(epoch_sql));
    if (epoch != epoch_) {
      load_layout();
      epoch_ = epoch;
      log_stale_ = true;
    } else {
      if (!log_stale_)
        load_log(false); // rows other connections appended
      if (!runs_.empty())
        extend(*runs_.back()); // keys they appended to the newest run
    }
    data_version_ = version;
  }
  if (log_stale_)
    load_log(true);
  for (auto& r : runs_)
    r->synced_max = r->max_key;
}

void key_index::invalidate() noexcept {
  log_stale_ = true;
  epoch_ = -1;
  for (auto& r : runs_)
    r->max_key = r->synced_max;
}

void key_index::committed() noexcept {
  for (auto& r : runs_)
    r->synced_max = r->max_key;
}

void key_index::load_layout() {
  struct entry {
    std::int64_t id;
    std::string name;
    std::int64_t keys, oldest_us, generation;
  };
  std::vector<entry> listed;
  auto& s = get(runs_sql);
  while (s.step())
    listed.push_back({s.int64(0), s.text(1), s.int64(2), s.int64(3), s.int64(4)});
  s.reset();
  // A run known already, of the same generation, is only read past its last known key:
  // it grows only at its end, and only a purge (a new generation) deletes rows.
  std::vector<std::unique_ptr<run>> next;
  for (auto& e : listed) {
    auto it = std::find_if(runs_.begin(), runs_.end(), [&](const auto& r) {
      return r && r->id == e.id && r->name == e.name && r->generation == e.generation;
    });
    if (it != runs_.end()) {
      next.push_back(std::move(*it));
      extend(*next.back());
    } else {
      next.push_back(open_run(e.id, e.name, e.keys));
    }
    next.back()->oldest_us = e.oldest_us;
    next.back()->generation = e.generation;
  }
  runs_ = std::move(next);
}

std::unique_ptr<key_index::run> key_index::open_run(std::int64_t id, std::string name,
                                                    std::int64_t keys) {
  // fill_filter sizes the filter by the table's rows.
  auto r = std::make_unique<run>(db_, id, std::move(name), keys, 0);
  fill_filter(*r);
  return r;
}

// Sized by what the table holds, not by the registry's count: rows written around the
// store (request_keys filled by an older build or by `phoenix bench store`'s raw loop)
// would overfill a filter sized by it, and then every key would probe the run.
void key_index::fill_filter(run& r, bool growing) {
  statement scan{db_, "SELECT key FROM " + quoted(r.name)};
  std::vector<std::uint64_t> hashes;
  hashes.reserve(static_cast<std::size_t>(r.keys));
  while (scan.step())
    hashes.push_back(key_filter::hash(scan.view(0)));
  r.max_key = r.read_max_key();
  r.keys = static_cast<std::int64_t>(hashes.size());
  // A run that takes appends gets room to double before it is read again.
  r.filter = key_filter{growing ? 2 * hashes.size() : hashes.size() + hashes.size() / 4};
  for (auto h : hashes)
    r.filter.add(h);
}

void key_index::extend(run& r) {
  const std::string from = r.max_key; // bound without a copy: must outlive the scan
  auto& s = r.after.bind(1, from);
  std::int64_t added = 0;
  while (s.step()) {
    r.filter.add(key_filter::hash(s.view(0)));
    r.max_key = s.text(0);
    ++added;
  }
  s.reset();
  r.keys += added;
  if (static_cast<std::size_t>(r.keys) > r.filter.capacity())
    fill_filter(r, true);
}

void key_index::load_log(bool from_start) {
  if (from_start) {
    log_.clear();
    log_max_id_ = 0;
  }
  auto& s = get(log_scan_sql).bind(1, log_max_id_);
  while (s.step()) {
    log_.insert(key_filter::hash(s.view(1)), s.int64(0));
    log_max_id_ = s.int64(0);
  }
  s.reset();
  log_stale_ = false;
}

// A new key that sorts after every key of the newest run goes straight to it: an append
// at a B-tree's right edge costs what the log does, and is never moved again. So keys
// that increase (time-ordered ids) take the path of a plain table. Not when the run's
// purge bound would have to move back (a clock that went back): the log takes those.
key_index::run* key_index::append_target(const std::string& key, std::int64_t now_us) {
  if (runs_.empty())
    return nullptr;
  auto& r = *runs_.back();
  if (key <= r.max_key || (r.id != 0 && r.oldest_us > now_us))
    return nullptr;
  return &r;
}

void key_index::appended(run& r, const std::string& key, std::uint64_t h) {
  r.max_key = key;
  ++r.keys;
  if (static_cast<std::size_t>(r.keys) > r.filter.capacity())
    fill_filter(r, true);
  else
    r.filter.add(h);
}

const std::vector<std::int64_t>& key_index::log_candidates(std::uint64_t h) {
  if (log_stale_)
    load_log(true);
  candidates_.clear();
  log_.each(h, [&](std::int64_t rowid) { candidates_.push_back(rowid); });
  return candidates_;
}

void key_index::logged(std::uint64_t h) {
  log_max_id_ = sqlite3_last_insert_rowid(db_);
  log_.insert(h, log_max_id_);
}

std::optional<key_row> key_index::log_row(std::int64_t rowid, const std::string& key) {
  return read_row(get(log_get.c_str()).bind(1, rowid).bind(9, key));
}

claim_outcome key_index::claim(const std::string& key, std::int64_t now_us,
                               std::int64_t lease_until_us, const std::string& owner) {
  auto outcome = [](const std::optional<key_row>& r) {
    return r && r->state == state_completed ? claim_outcome::completed
                                            : claim_outcome::in_progress;
  };
  const auto h = key_filter::hash(key);
  for (auto rowid : log_candidates(h)) {
    get(log_claim.c_str())
        .bind(1, rowid)
        .bind(2, now_us)
        .bind(3, lease_until_us)
        .bind(4, owner)
        .bind(9, key)
        .run();
    if (sqlite3_changes(db_) == 1)
      return claim_outcome::claimed;
    if (auto row = log_row(rowid, key))
      return outcome(row);
  }
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    auto& r = **it;
    if (!r.filter.may_contain(h))
      continue;
    r.claim.bind(1, key).bind(2, now_us).bind(3, lease_until_us).bind(4, owner).run();
    if (sqlite3_changes(db_) == 1)
      return claim_outcome::claimed;
    if (auto row = r.row(key))
      return outcome(row);
  }
  if (auto* r = append_target(key, now_us)) {
    r->insert_claim.bind(1, key)
        .bind(2, now_us)
        .bind(3, lease_until_us)
        .bind(4, owner)
        .run();
    appended(*r, key, h);
    return claim_outcome::claimed;
  }
  get(log_claim_insert.c_str())
      .bind(1, key)
      .bind(2, now_us)
      .bind(3, lease_until_us)
      .bind(4, owner)
      .run();
  logged(h);
  return claim_outcome::claimed;
}

void key_index::complete(const std::string& key, std::int64_t now_us) {
  const auto h = key_filter::hash(key);
  for (auto rowid : log_candidates(h)) {
    get(log_complete.c_str()).bind(1, rowid).bind(2, now_us).bind(9, key).run();
    if (sqlite3_changes(db_) == 1 || log_row(rowid, key))
      return; // completed now, or before
  }
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    auto& r = **it;
    if (!r.filter.may_contain(h))
      continue;
    r.complete.bind(1, key).bind(2, now_us).run();
    if (sqlite3_changes(db_) == 1 || r.row(key))
      return;
  }
  if (auto* r = append_target(key, now_us)) {
    r->insert_complete.bind(1, key).bind(2, now_us).run();
    appended(*r, key, h);
    return;
  }
  get(log_complete_insert.c_str()).bind(1, key).bind(2, now_us).run();
  logged(h);
}

void key_index::release(const std::string& key) {
  const auto h = key_filter::hash(key);
  for (auto rowid : log_candidates(h)) {
    get(log_release.c_str()).bind(1, rowid).bind(9, key).run();
    if (sqlite3_changes(db_) == 1 || log_row(rowid, key))
      return; // released now, or not claimed
  }
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    auto& r = **it;
    if (!r.filter.may_contain(h))
      continue;
    // A row of state 0 rather than a deletion: deleting a run's last key would move its
    // end back, below keys other connections may then append and this one not read.
    r.release.bind(1, key).run();
    if (sqlite3_changes(db_) == 1 || r.row(key))
      return;
  }
}

std::optional<key_row> key_index::find(const std::string& key) {
  const auto h = key_filter::hash(key);
  for (auto rowid : log_candidates(h))
    if (auto row = log_row(rowid, key)) {
      if (row->state == state_released)
        return std::nullopt;
      return row;
    }
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it)
    if ((*it)->filter.may_contain(h))
      if (auto r = (*it)->row(key))
        return r->state == state_released ? std::nullopt : r;
  return std::nullopt;
}

std::uint64_t key_index::purge(std::int64_t cutoff_us) {
  get(log_purge_sql).bind(1, cutoff_us).run();
  auto deleted = static_cast<std::uint64_t>(sqlite3_changes(db_));
  bool rewritten = deleted > 0; // log rows gone: other connections must read it again
  for (auto it = runs_.begin(); it != runs_.end();) {
    auto& r = **it;
    if (r.id != 0 && r.oldest_us >= cutoff_us) {
      ++it; // nothing in it completed (or was released) before the cutoff, nor will
      continue;
    }
    r.purge.bind(1, cutoff_us).run(); // run 0 through its indexes, the others scanned
    const auto completed = sqlite3_changes(db_);
    r.purge_released.bind(1, cutoff_us).run(); // absent keys: not counted
    if (completed + sqlite3_changes(db_) == 0) {
      ++it;
      continue;
    }
    deleted += static_cast<std::uint64_t>(completed);
    rewritten = true;
    // Rows gone may include the run's last: its end moved back, so every connection
    // reads the run again (its generation) rather than on from the end it knew.
    get(next_generation_sql).bind(1, r.id).run();
    ++r.generation;
    r.max_key = r.read_max_key();
    bool empty = false;
    if (r.id != 0) { // run 0, request_keys, stays whatever it holds
      r.bound.step();
      empty = r.bound.is_null(0);
      r.oldest_us = empty ? 0 : r.bound.int64(0);
      r.bound.reset();
      if (!empty)
        get(bound_run_sql).bind(1, r.id).bind(2, r.oldest_us).run();
    }
    if (!empty) {
      ++it;
      continue;
    }
    const auto id = r.id;
    const auto name = r.name;
    it = runs_.erase(it); // its statements go before its table
    drop_run_table(id, name);
  }
  if (rewritten) {
    bump_epoch();
    log_stale_ = true;
  }
  return deleted;
}

std::pair<std::int64_t, std::string> key_index::new_run_table() {
  const std::int64_t id = single_int(get(next_run_sql));
  std::string name = "request_keys_run_" + std::to_string(id);
  create_run_table(db_, name);
  return {id, std::move(name)};
}

// After the run's statements are gone (they belong to the table).
void key_index::drop_run_table(std::int64_t id, const std::string& name) {
  exec(db_, "DROP TABLE " + quoted(name));
  get(drop_run_sql).bind(1, id).run();
}

void key_index::bump_epoch() {
  get(bump_epoch_sql).run();
  epoch_ = single_int(get(epoch_sql));
}

bool key_index::small(const run& r) const {
  return r.id != 0 && static_cast<std::size_t>(r.keys) < merge_fan_in * log_rows_;
}

bool key_index::due() const {
  return log_.size() >= log_rows_ ||
         static_cast<std::size_t>(std::count_if(
             runs_.begin(), runs_.end(), [this](const auto& r) { return small(*r); })) >=
             merge_fan_in;
}

void key_index::maintain() {
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::time_point since) {
    return std::chrono::duration<double, std::milli>(clock::now() - since).count();
  };
  if (log_.size() >= log_rows_) {
    const auto start = clock::now();
    const auto keys = log_.size();
    in_transaction("BEGIN IMMEDIATE", [this] { flush(); });
    spdlog::debug("store: {} keys of the log sorted into a run in {:.1f} ms ({} runs)",
                  keys, ms(start), runs_.size());
  }
  if (due()) {
    const auto start = clock::now();
    in_transaction("BEGIN IMMEDIATE", [this] { merge(); });
    spdlog::debug("store: {} small runs merged in {:.1f} ms ({} runs)", merge_fan_in,
                  ms(start), runs_.size());
  }
}

void key_index::flush() {
  if (log_.size() < log_rows_)
    return; // another connection flushed it meanwhile
  std::string first, last;
  std::int64_t oldest = 0;
  {
    auto& s = get(log_bounds_sql);
    if (s.step()) {
      first = s.text(0);
      last = s.text(1);
      oldest = s.int64(2);
    }
    s.reset();
  }
  if (first.empty()) { // every claim in it was released: nothing to keep
    get(log_clear_sql).run();
    bump_epoch();
    log_.clear();
    log_max_id_ = 0;
    return;
  }
  // Keys that all sort after the newest run's (time-ordered ids) are appended to it: a
  // B-tree appended at its right edge writes each page once, and no run is added.
  run* target = nullptr;
  if (!runs_.empty() && runs_.back()->max_key < first)
    target = runs_.back().get();
  std::int64_t id = 0;
  std::string name;
  if (!target)
    std::tie(id, name) = new_run_table();
  exec(db_, "INSERT INTO " + quoted(target ? target->name : name) + "(" + run_columns +
                ") SELECT " + run_columns + " FROM request_key_log WHERE state <> 0 " +
                "ORDER BY key");
  const std::int64_t moved = sqlite3_changes(db_);
  if (target)
    get(grow_run_sql).bind(1, target->id).bind(2, moved).bind(3, oldest).run();
  else
    get(add_run_sql).bind(1, id).bind(2, name).bind(3, moved).bind(4, oldest).run();
  get(log_clear_sql).run();
  bump_epoch();
  // Memory follows; if the commit fails, invalidate() makes the next sync reload it.
  if (target) {
    target->keys += moved;
    target->oldest_us = std::min(target->oldest_us, oldest);
    target->max_key = last;
    if (static_cast<std::size_t>(target->keys) > target->filter.capacity()) {
      fill_filter(*target, true);
    } else {
      log_.each_hash([&](std::uint64_t h) { target->filter.add(h); });
    }
  } else {
    auto r = std::make_unique<run>(db_, id, name, moved,
                                   static_cast<std::size_t>(moved + moved / 4));
    r->oldest_us = oldest;
    r->max_key = last;
    log_.each_hash([&](std::uint64_t h) { r->filter.add(h); });
    runs_.push_back(std::move(r));
  }
  log_.clear();
  log_max_id_ = 0;
}

void key_index::merge() {
  std::vector<std::size_t> picked;
  for (std::size_t i = 0; i < runs_.size(); ++i)
    if (small(*runs_[i]))
      picked.push_back(i);
  if (picked.size() < merge_fan_in)
    return;
  const auto [id, name] = new_run_table();
  std::string sources;
  std::int64_t oldest = runs_[picked.front()]->oldest_us;
  for (auto i : picked) {
    // Each source is read in key order and the union merged, not sorted again.
    sources += std::string{sources.empty() ? "" : " UNION ALL "} + "SELECT " + run_columns +
               " FROM " + quoted(runs_[i]->name) + " WHERE state <> 0";
    oldest = std::min(oldest, runs_[i]->oldest_us);
  }
  exec(db_, "INSERT INTO " + quoted(name) + "(" + run_columns + ") " + sources +
                " ORDER BY key");
  const std::int64_t moved = sqlite3_changes(db_);
  get(add_run_sql).bind(1, id).bind(2, name).bind(3, moved).bind(4, oldest).run();
  std::vector<std::pair<std::int64_t, std::string>> dropped;
  for (auto it = picked.rbegin(); it != picked.rend(); ++it) {
    dropped.emplace_back(runs_[*it]->id, runs_[*it]->name);
    runs_.erase(runs_.begin() + static_cast<std::ptrdiff_t>(*it));
  }
  for (auto& [old_id, old_name] : dropped)
    drop_run_table(old_id, old_name);
  bump_epoch();
  runs_.push_back(open_run(id, name, moved));
  runs_.back()->oldest_us = oldest;
}

} // namespace phoenix::persistence::sqlite
