#pragma once
// Content compiled into the binary (cmake/TuttleEmbed.cmake), so `tuttle run` works from any
// folder: the rule pack under rules/pack/, the sample under ingest/samples/, the web console.

#include <span>

#include "tuttle/engine/embedded_file.h"

namespace tuttle {

std::span<const EmbeddedFile> DefaultRules();   // rules/pack/**/*.yml
std::span<const EmbeddedFile> DefaultSample();  // ingest/samples/attack-story.jsonl
std::span<const EmbeddedFile> ConsoleFiles();   // tools/console/*: the web console

}  // namespace tuttle
