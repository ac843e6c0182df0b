{
  # podflow_conntrack.node: ctnetlink (conntrack over netlink) for the conntrack
  # receiver and the NAT join. N-API only (node-addon-api headers), so the binary
  # does not depend on the Node version it was built against.
  "targets": [
    {
      "target_name": "podflow_conntrack",
      "sources": ["src/addon.cc", "src/ct-parse.cc", "src/ct-session.cc"],
      "include_dirs": ["../../node_modules/node-addon-api"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"]
    }
  ]
}
