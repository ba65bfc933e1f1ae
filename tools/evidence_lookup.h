#pragma once
// The raw records behind an alert's evidence, for GET /api/v1/alerts/{id} (docs/api.md).
//
// storage/include/tuttle/storage/evidence.h (the store's `evidence` column family) provides
//   struct StoredEvidence; Result<std::optional<StoredEvidence>> EvidenceRecord(store, hex);
// Until that header exists in this tree, this stand-in with the same signature answers "not
// stored", so the API shows each evidence's position and time from the finding with
// "record": null. Once the header is there it is used as is.

#if __has_include("tuttle/storage/evidence.h")
#include "tuttle/storage/evidence.h"
#else
#include <optional>
#include <string>
#include <string_view>

#include "tuttle/engine/record.h"
#include "tuttle/engine/result.h"
#include "tuttle/engine/time.h"

namespace tuttle::storage {

class Store;

struct StoredEvidence {
  std::string record_id;  // Hash128::Hex()
  TimeNs time = kNoTime;
  SourcePosition position;
  std::string record;  // raw bytes
};

inline Result<std::optional<StoredEvidence>> EvidenceRecord(const Store& /*store*/,
                                                            std::string_view /*record_id_hex*/) {
  return std::optional<StoredEvidence>();
}

}  // namespace tuttle::storage
#endif
