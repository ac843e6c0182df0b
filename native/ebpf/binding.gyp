{
  # The podflow_ebpf addon: loads bpf/ (embedded as a libbpf skeleton), attaches
  # it, polls the ring buffer on a native thread and reads the maps in batches.
  # N-API only (node-addon-api), so one build works across Node versions.
  "targets": [
    {
      "target_name": "podflow_ebpf",
      "sources": ["<!@(ls -1 src/*.cc)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "../../bpf/include",
        "../../bpf/.output"
      ],
      "libraries": ["-lbpf", "-lelf", "-lz"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-fexceptions", "-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]
    }
  ]
}
