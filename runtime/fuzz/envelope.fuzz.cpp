// libFuzzer target for the envelope codec.
//
// Input layout: fields separated by the byte 0x1e (ASCII record separator). The last
// field is the payload; the fields before it pair up as header key, header value (a
// lone trailing key gets an empty value). Seeds live in runtime/fuzz/corpus.
//
// Checks: decoding never crashes, the in-place view agrees with the owning decode, and
// whatever decodes survives encode_headers -> decode_envelope unchanged (abort otherwise).

#include "phoenix/runtime/envelope.hpp"

#include "phoenix/runtime/envelope_view.hpp"
#include "phoenix/runtime/idempotency_key.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

using namespace phoenix::runtime;

namespace {

constexpr char separator = '\x1e';

// Tighter than the defaults so that -max_len=8192 inputs can reach every limit.
envelope_limits fuzz_limits() {
  envelope_limits limits;
  limits.max_header_value = 512;
  limits.max_headers = 24;
  limits.max_payload = 2048;
  return limits;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "envelope round trip: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (std::size_t pos; (pos = input.find(separator, start)) != input.npos; start = pos + 1)
    fields.push_back(input.substr(start, pos - start));
  const std::string_view payload = input.substr(start);

  std::vector<header> headers;
  for (std::size_t i = 0; i < fields.size(); i += 2)
    headers.push_back({std::string(fields[i]),
                       i + 1 < fields.size() ? std::string(fields[i + 1]) : std::string()});

  const envelope_limits limits = fuzz_limits();
  auto decoded = decode_envelope(headers, payload, limits);
  if (!decoded) {
    if (!decoded.error() || decoded.error().message().empty())
      fail("an error without code or message");
    return 0;
  }
  // The in-place view reads the same event (decode_envelope goes through it).
  std::vector<header_view> views;
  for (const header& h : headers)
    views.push_back({h.key, h.value});
  auto view = decode_envelope_view(views.data(), views.size(), payload, limits);
  if (!view)
    fail("the view rejects what decode_envelope accepts");
  if (idempotency_key_of(*view) != idempotency_key_of(*decoded))
    fail("the view's idempotency key differs");

  const auto encoded = encode_headers(*decoded);
  // encode_headers always writes content-type, which the input may have lacked.
  envelope_limits relimits = limits;
  relimits.max_headers += 1;
  auto again = decode_envelope(encoded, decoded->payload, relimits);
  if (!again)
    fail(again.error().describe().c_str());
  if (*again != *decoded)
    fail("re-decoded envelope differs");
  if (encode_headers(*again) != encoded)
    fail("encoding is not a fixed point");
  return 0;
}
