#pragma once
// The binary encoding of checkpointed window state and of scale-out signal messages: LEB128
// varints, zigzag for signed values, length-prefixed strings, doubles by their bits. Compact
// (most groups hold a few entries with small numbers) and the same on every little- or
// big-endian host.
//
// Reader never reads past its input: every Get returns false on truncated or malformed bytes,
// and `ok()` stays false from then on, so a damaged state entry is reported, not crashed on.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tuttle::state_codec {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void U64(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void I64(int64_t v) {
    U64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Bool(bool b) { out_.push_back(b ? '\1' : '\0'); }
  void Double(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof(bits));
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(bits >> (8 * i)));
  }
  void Str(std::string_view s) {
    U64(s.size());
    out_.append(s);
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }

  bool U64(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return Fail();
      const auto byte = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return Fail();
  }
  bool U32(uint32_t& v) {
    uint64_t w;
    if (!U64(w) || w > UINT32_MAX) return Fail();
    v = static_cast<uint32_t>(w);
    return true;
  }
  bool I64(int64_t& v) {
    uint64_t z;
    if (!U64(z)) return false;
    v = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
    return true;
  }
  bool I32(int32_t& v) {
    int64_t w;
    if (!I64(w) || w < INT32_MIN || w > INT32_MAX) return Fail();
    v = static_cast<int32_t>(w);
    return true;
  }
  bool Bool(bool& b) {
    if (pos_ >= in_.size() || static_cast<uint8_t>(in_[pos_]) > 1) return Fail();
    b = in_[pos_++] == '\1';
    return true;
  }
  bool Double(double& d) {
    if (in_.size() - pos_ < 8) return Fail();
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) {
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += 8;
    std::memcpy(&d, &bits, sizeof(d));
    return true;
  }
  bool Str(std::string& s) {
    uint64_t n;
    if (!U64(n) || n > in_.size() - pos_) return Fail();
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  // A count of items that each take at least one byte: bounded by what is left, so a damaged
  // count cannot make the caller reserve gigabytes.
  bool Count(size_t& n) {
    uint64_t v;
    if (!U64(v) || v > in_.size() - pos_) return Fail();
    n = static_cast<size_t>(v);
    return true;
  }

 private:
  bool Fail() {
    ok_ = false;
    pos_ = in_.size();
    return false;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace tuttle::state_codec
