#include "policies/redis.hpp"

#include <hiredis/hiredis.h>

namespace phoenix::policies {
namespace {

error failure(std::string what) {
  return error{runtime::errc::child_start_failed, "redis: " + std::move(what)};
}

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

timeval to_timeval(std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(t.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((t.count() % 1000) * 1000);
  return tv;
}

// A command's reply, or the connection's error (the connection is unusable after one).
result<reply_ptr> command(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* raw = redisCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  if (!raw)
    return failure(c->errstr[0] ? c->errstr : "no reply");
  reply_ptr r{static_cast<redisReply*>(raw)};
  if (r->type == REDIS_REPLY_ERROR)
    return failure(std::string(r->str, r->len));
  return r;
}

} // namespace

void redis_connection::deleter::operator()(redisContext* c) const noexcept {
  redisFree(c);
}

redis_connection::~redis_connection() = default;

result<redis_connection> redis_connection::connect(const std::string& host, int port,
                                                   std::chrono::milliseconds timeout) {
  auto* c = redisConnectWithTimeout(host.c_str(), port, to_timeval(timeout));
  if (!c)
    return failure("cannot allocate a connection");
  redis_connection conn{c};
  if (c->err)
    return failure(host + ":" + std::to_string(port) + ": " + c->errstr);
  if (redisSetTimeout(c, to_timeval(timeout)) != REDIS_OK)
    return failure("cannot set the timeout");
  return conn;
}

result<std::string> redis_connection::load_script(const std::string& script) {
  auto r = command(ctx_.get(), {"SCRIPT", "LOAD", script});
  if (!r)
    return r.error();
  if ((*r)->type != REDIS_REPLY_STRING)
    return failure("SCRIPT LOAD: unexpected reply");
  return std::string((*r)->str, (*r)->len);
}

result<std::vector<long long>>
redis_connection::evalsha(const std::string& sha, const std::string& key,
                          const std::vector<std::string>& args) {
  std::vector<std::string> argv{"EVALSHA", sha, "1", key};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = command(ctx_.get(), argv);
  if (!r)
    return r.error();
  if ((*r)->type != REDIS_REPLY_ARRAY)
    return failure("EVALSHA: expected an array");
  std::vector<long long> out;
  for (size_t i = 0; i < (*r)->elements; ++i) {
    auto* e = (*r)->element[i];
    if (e->type != REDIS_REPLY_INTEGER)
      return failure("EVALSHA: expected integers");
    out.push_back(e->integer);
  }
  return out;
}

result<std::string> redis_connection::hget(const std::string& key,
                                           const std::string& field) {
  auto r = command(ctx_.get(), {"HGET", key, field});
  if (!r)
    return r.error();
  if ((*r)->type == REDIS_REPLY_NIL)
    return std::string{};
  if ((*r)->type != REDIS_REPLY_STRING)
    return failure("HGET: unexpected reply");
  return std::string((*r)->str, (*r)->len);
}

} // namespace phoenix::policies
