#include "gzip.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include <fmt/format.h>

namespace tuttle::ingest::internal {
namespace {

constexpr std::array<int8_t, 256> MakeBase64Table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return t;
}
constexpr std::array<int8_t, 256> kBase64 = MakeBase64Table();

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

Status DecodeBase64(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  size_t digits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (IsSpace(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int8_t v = kBase64[static_cast<unsigned char>(c)];
    if (v < 0 || padding > 0) {
      return Error(fmt::format("invalid base64: unexpected character at offset {}", i));
    }
    ++digits;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (digits % 4 == 1 || padding > 2 || (padding > 0 && (digits + padding) % 4 != 0)) {
    return Error("invalid base64: truncated input");
  }
  return Ok();
}

Result<size_t> InflateGzipMember(std::string_view in, size_t max_out, std::string& out) {
  out.clear();
  z_stream z{};
  // 15 + 16: a 32 KiB window, and a gzip header and trailer rather than zlib's.
  if (inflateInit2(&z, 15 + 16) != Z_OK) return Error("malformed gzip: cannot start zlib");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
  int rc = Z_OK;
  // Grow the output as needed, up to one byte past the limit so "over" is seen.
  size_t chunk = std::min<size_t>(std::max<size_t>(in.size() * 4, 4096), max_out + 1);
  while (rc == Z_OK) {
    const size_t have = out.size();
    if (have > max_out) break;
    const size_t room = std::min(chunk, max_out + 1 - have);
    out.resize(have + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    z.avail_out = static_cast<uInt>(room);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(have + room - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      inflateEnd(&z);
      return Error("malformed gzip: truncated stream");
    }
    if (rc == Z_BUF_ERROR) rc = Z_OK;  // output full: go round with more room
    chunk *= 2;
  }
  const std::string reason = z.msg != nullptr ? z.msg : "";
  const size_t used = in.size() - z.avail_in;
  inflateEnd(&z);
  if (out.size() > max_out) {
    out.clear();
    return Error(fmt::format("record too large: decompressed gzip over the limit of {} bytes",
                             max_out));
  }
  if (rc != Z_STREAM_END) {
    out.clear();
    if (rc == Z_OK) return Error("malformed gzip: truncated stream");
    return Error(fmt::format("malformed gzip: {}", reason.empty() ? zError(rc) : reason));
  }
  return used;
}

}  // namespace tuttle::ingest::internal
