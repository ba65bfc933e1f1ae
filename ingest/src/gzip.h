#pragma once
// Gzip and base64 for compressed inputs: CloudWatch Logs subscriptions deliver their envelopes
// gzip-compressed to Kinesis, Firehose and Lambda, and base64-encoded where the transport is
// text. Internal to tuttle::ingest; zlib does the inflating.

#include <cstddef>
#include <string>
#include <string_view>

#include "tuttle/engine/result.h"

namespace tuttle::ingest::internal {

// True when `bytes` starts with the gzip magic 1f 8b.
inline bool IsGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// True when `text` (trimmed) starts like the base64 of gzip bytes ("H4sI": 1f 8b 08, deflate).
inline bool IsBase64Gzip(std::string_view text) { return text.starts_with("H4sI"); }

// Decodes standard base64 (RFC 4648 alphabet, '=' padding optional, ASCII white space skipped)
// into `out` (cleared first). Errors read "invalid base64: ...".
Status DecodeBase64(std::string_view text, std::string& out);

// Inflates one gzip member at the start of `in` into `out` (cleared first), at most `max_out`
// bytes. Returns how many bytes of `in` the member took (concatenated members follow it).
// Errors: "malformed gzip: <zlib's reason>", and, past max_out,
// "record too large: decompressed gzip over the limit of <max_out> bytes".
Result<size_t> InflateGzipMember(std::string_view in, size_t max_out, std::string& out);

}  // namespace tuttle::ingest::internal
