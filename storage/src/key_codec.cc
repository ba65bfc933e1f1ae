#include "tuttle/storage/key_codec.h"

#include "tuttle/storage/alert_index.h"

namespace tuttle::storage {
namespace {

void PutU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}

uint64_t GetU64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(b[static_cast<size_t>(i)]);
  return v;
}

}  // namespace

std::string EncodeI64(int64_t v) {
  std::string out;
  PutU64(out, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
  return out;
}

int64_t DecodeI64(std::string_view bytes) {
  return static_cast<int64_t>(GetU64(bytes) ^ (uint64_t{1} << 63));
}

std::string EncodeI32(int32_t v) {
  const uint32_t u = static_cast<uint32_t>(v) ^ (uint32_t{1} << 31);
  std::string out;
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((u >> (i * 8)) & 0xff));
  return out;
}

int32_t DecodeI32(std::string_view b) {
  uint32_t u = 0;
  for (int i = 0; i < 4; ++i) u = (u << 8) | static_cast<unsigned char>(b[static_cast<size_t>(i)]);
  return static_cast<int32_t>(u ^ (uint32_t{1} << 31));
}

std::string AlertIdBytes(const Hash128& id) {
  std::string out;
  PutU64(out, id.hi);
  PutU64(out, id.lo);
  return out;
}

Hash128 AlertIdFromBytes(std::string_view bytes) {
  return Hash128{GetU64(bytes.substr(0, 8)), GetU64(bytes.substr(8, 8))};
}

std::string AlertKey(TimeNs time, const Hash128& id) {
  std::string key = EncodeI64(time);
  PutU64(key, id.hi);
  PutU64(key, id.lo);
  return key;
}

bool DecodeAlertKey(std::string_view key, TimeNs& time, std::string& id_uuid) {
  if (key.size() != 24) return false;
  time = DecodeI64(key.substr(0, 8));
  const Hash128 id{GetU64(key.substr(8, 8)), GetU64(key.substr(16, 8))};
  id_uuid = id.Uuid();
  return true;
}

std::string DeadLetterKey(DeadLetter::Kind kind, const SourcePosition& position) {
  std::string key(1, static_cast<char>(kind));
  key += position.source;
  key.push_back('\0');
  key += EncodeI32(position.partition);
  key += EncodeI64(position.offset);
  return key;
}

std::string PositionKey(std::string_view source, int32_t partition) {
  std::string key(source);
  key.push_back('\0');
  key += EncodeI32(partition);
  return key;
}

}  // namespace tuttle::storage
