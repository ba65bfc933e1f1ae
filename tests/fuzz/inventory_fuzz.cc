// Fuzz target: what the inventory reads from outside. An approved-inventory file (YAML an operator
// writes: every input loads or is a located error, and a loaded policy answers for any item), and
// a stored inventory entry (key and value from the store: every input decodes or is refused, and
// what decodes encodes to an entry that decodes to the same item; varints may be written in
// more than one way, so the bytes themselves need not round-trip).

#include <cstddef>
#include <cstdint>
#include <string>

#include "inventory_command.h"
#include "tuttle/engine/inventory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) != 0) {
    tuttle::Diagnostics diagnostics;
    auto policy = tuttle::tools::ParseInventoryPolicy(input, "fuzz.yaml", diagnostics);
    if (!policy.ok()) {
      if (diagnostics.empty() && policy.error().message().find("not valid YAML") ==
                                     std::string::npos) {
        __builtin_trap();  // an error must say where
      }
      return 0;
    }
    tuttle::InventoryItem item;
    for (tuttle::InventoryKind kind :
         {tuttle::InventoryKind::kImage, tuttle::InventoryKind::kWorkload,
          tuttle::InventoryKind::kFunction, tuttle::InventoryKind::kNamespace}) {
      item.kind = kind;
      item.name = "registry.example.com/team/app:1.2";
      item.namespace_name = "payments";
      item.arn = "arn:aws:lambda:eu-west-1:111122223333:function:app";
      (void)policy->Checks(kind);
      (void)policy->Approved(item);
    }
    return 0;
  }
  const size_t split = input.find('\n');
  if (split == std::string::npos) return 0;
  const std::string key = input.substr(0, split), value = input.substr(split + 1);
  tuttle::InventoryItem item;
  if (!tuttle::DecodeInventoryItem(key, value, item)) return 0;
  const std::string key2 = tuttle::InventoryKey(item), value2 = tuttle::EncodeInventoryItem(item);
  if (key2 != key) __builtin_trap();  // keys have one spelling
  tuttle::InventoryItem again;
  if (!tuttle::DecodeInventoryItem(key2, value2, again)) __builtin_trap();
  if (tuttle::EncodeInventoryItem(again) != value2) __builtin_trap();
  (void)item.DisplayKey();
  return 0;
}
