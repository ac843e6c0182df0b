// N-API glue of the DNS capture (dns-capture.h), registered by addon.cc's Init.
#pragma once

#include <napi.h>

// Adds DnsCapture (class) and dnsLayout() to the addon's exports.
void InitDns(Napi::Env env, Napi::Object exports);
