// The fixed-size record the addon hands to JavaScript, one per conntrack entry
// seen in an event or a dump. JS reads it with a DataView at these offsets
// (src/native/conntrack-record.ts mirrors them; keep both in step).
//
// Ports and scalars are host byte order (little-endian on every platform
// podflow ships for); addresses are 16 bytes, IPv4 as ::ffff:a.b.c.d like
// FlowBatch stores them; counters are doubles so JS reads them without BigInt
// (exact to 2^53 bytes).
#pragma once
#include <cstddef>
#include <cstdint>

namespace podflow_ct {

enum RecordType : uint8_t { REC_NEW = 1, REC_UPDATE = 2, REC_DESTROY = 3, REC_DUMP = 4 };

// Which optional attributes the kernel included.
enum RecordFlags : uint16_t {
  HAS_COUNTERS = 1 << 0,
  HAS_STATUS = 1 << 1,
  HAS_TCP_STATE = 1 << 2,
  HAS_MARK = 1 << 3,
  HAS_ZONE = 1 << 4,
  HAS_ID = 1 << 5,
  HAS_REPLY = 1 << 6,
  // A dump record whose key (tuple and id) also came in an event read right
  // after its dump message: which of the two is newer cannot be told, so JS
  // takes the events and only notes that the entry was in the dump.
  CONTESTED = 1 << 7,
};

#pragma pack(push, 1)
struct Record {
  uint8_t type;        // 0  RecordType
  uint8_t family;      // 1  4 or 6
  uint8_t proto;       // 2  IPPROTO_*
  uint8_t tcp_state;   // 3  enum tcp_conntrack (valid with HAS_TCP_STATE)
  uint32_t status;     // 4  IPS_* bits
  uint32_t mark;       // 8
  uint32_t id;         // 12 CTA_ID
  uint16_t zone;       // 16
  uint16_t flags;      // 18 RecordFlags
  uint16_t orig_sport; // 20
  uint16_t orig_dport; // 22
  uint16_t reply_sport;// 24
  uint16_t reply_dport;// 26
  uint32_t pad;        // 28
  uint8_t orig_src[16];  // 32
  uint8_t orig_dst[16];  // 48
  uint8_t reply_src[16]; // 64
  uint8_t reply_dst[16]; // 80
  double orig_packets;   // 96
  double orig_bytes;     // 104
  double reply_packets;  // 112
  double reply_bytes;    // 120
};
#pragma pack(pop)
static_assert(sizeof(Record) == 128, "Record layout is shared with JS");

// Outcome of parsing one netlink message.
enum ParseResult { PARSE_OK, PARSE_SKIP, PARSE_ERROR };

// Parses one ctnetlink message body (after the nlmsghdr): nfgenmsg + attributes.
// Every length is checked against `len`; a malformed message yields PARSE_ERROR
// and leaves `out` unspecified. `type` is the RecordType to stamp.
ParseResult parse_ct_message(const uint8_t* body, size_t len, uint8_t type, Record* out);

// Classifies a ctnetlink nlmsghdr (type, flags) into a RecordType, or 0 when the
// message is not a conntrack entry (expectations, other subsystems).
uint8_t classify_event(uint16_t nlmsg_type, uint16_t nlmsg_flags);

}  // namespace podflow_ct
