#pragma once
// Key encodings of the store's column families: fixed-width big-endian integers (sign bit flipped
// for signed ones) so that RocksDB's bytewise order is numeric order.

#include <cstdint>
#include <string>
#include <string_view>

#include "tuttle/engine/alert_sink.h"
#include "tuttle/engine/hash.h"

namespace tuttle::storage {

std::string EncodeI64(int64_t v);
int64_t DecodeI64(std::string_view bytes);  // REQUIRES: bytes.size() >= 8
std::string EncodeI32(int32_t v);
int32_t DecodeI32(std::string_view bytes);  // REQUIRES: bytes.size() >= 4

std::string AlertKey(TimeNs time, const Hash128& id);
// Returns false when `key` is not an alert key.
bool DecodeAlertKey(std::string_view key, TimeNs& time, std::string& id_uuid);
std::string DeadLetterKey(DeadLetter::Kind kind, const SourcePosition& position);
std::string PositionKey(std::string_view source, int32_t partition);

}  // namespace tuttle::storage
