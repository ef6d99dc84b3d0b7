#pragma once

// A consumed record's headers as views, read from the record's own bytes.
//
// librdkafka's only public way to read a consumed record's headers,
// `rd_kafka_message_headers`, copies every header into its own allocation, behind a shadow
// buffer it allocates, zeroes and frees for each record. For CloudEvents records (six
// headers) that was two thirds of a partition lane's work per record (bench/README.md,
// "Where the time goes"). Kafka's record format puts the header block right after the
// value, and librdkafka 2.0.2 keeps a pointer to that block, unparsed, in the message. On
// exactly that version `header_views` reads the block in place, and only when the record
// proves the layout: the pointer must equal the end of the value (nothing is read through
// it otherwise), and the block must parse to its last byte with no header name holding a
// NUL. Any other case (another librdkafka, a null or empty value, no headers, a block
// librdkafka would read differently or reject) takes librdkafka's parse, so both paths
// give the same headers for every record.

#include "kafka/rdkafka.hpp"
#include "phoenix/runtime/envelope_view.hpp"

#include <cstddef>
#include <string_view>
#include <vector>

namespace phoenix::kafka::rd {

/// Where `header_views` read a record's headers from.
enum class header_source {
  none,       ///< the record has no headers (or librdkafka rejects its header block)
  record,     ///< the record's bytes, in place
  librdkafka, ///< librdkafka's parsed copy
};

/// Sets `out` to the headers of consumed record `m`, in order; a null value reads as "",
/// a name ends at its first NUL, as with `for_each_header`. The views stay valid while
/// `m` lives, unless librdkafka parsed them and `parsed` is given: then they are detached
/// from `m` into `*parsed` and live as long as it (a lane frees them with the attempt).
header_source header_views(rd_kafka_message_t& m, std::vector<runtime::header_view>& out,
                           headers_ptr* parsed = nullptr);

/// Parses a Kafka record-format header block (varint count, then per header a varint
/// name length, the name, a varint value length, -1 for null, and the value) into `out`.
/// True only when the block holds at least one header, ends exactly at its last header,
/// and reads as librdkafka reads it (no header name holding a NUL); false leaves `out` in
/// an unspecified state. Exposed for tests.
bool parse_header_block(std::string_view block, std::vector<runtime::header_view>& out);

/// Whether `header_views` can read records in place at all: the librdkafka built against
/// and loaded is the one whose layout it knows, on an LP64 platform. False: every record
/// takes librdkafka's parse.
bool header_views_in_place();

} // namespace phoenix::kafka::rd
