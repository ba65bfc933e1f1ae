#pragma once
// Content compiled into the binary (cmake/TuttleEmbed.cmake), so `tuttle run` works from any
// folder: the rule pack under rules/pack/ and the sample under ingest/samples/.

#include <span>

#include "tuttle/engine/embedded_file.h"

namespace tuttle {

std::span<const EmbeddedFile> DefaultRules();   // rules/pack/**/*.yml
std::span<const EmbeddedFile> DefaultSample();  // ingest/samples/attack-story.jsonl

}  // namespace tuttle
