// N-API glue of the packet-drop tracking (drop-datapath.h), registered by
// addon.cc's Init.
#pragma once

#include <napi.h>

// Adds Drops (class), dropReasonNames() and dropLayout() to the addon's exports.
void InitDrops(Napi::Env env, Napi::Object exports);
