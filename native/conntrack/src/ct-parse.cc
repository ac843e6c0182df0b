// Defensive parsing of ctnetlink attributes. Netlink data is treated as bad
// input: every attribute header and payload is bounds-checked against its
// enclosing buffer, nesting is followed only through the attributes we need,
// and anything inconsistent rejects the whole message (counted by the caller).
#include "ct-record.h"

#include <arpa/inet.h>
#include <cstring>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

namespace podflow_ct {
namespace {

constexpr size_t kAttrHdr = 4;
inline size_t align4(size_t n) { return (n + 3) & ~size_t(3); }

// Iterates the attributes in [p, p+len). Returns false on a malformed header.
template <typename F>
bool for_each_attr(const uint8_t* p, size_t len, F&& fn) {
  size_t off = 0;
  while (off + kAttrHdr <= len) {
    uint16_t alen, atype;
    std::memcpy(&alen, p + off, 2);
    std::memcpy(&atype, p + off + 2, 2);
    if (alen < kAttrHdr || alen > len - off) return false;
    if (!fn(uint16_t(atype & NLA_TYPE_MASK), p + off + kAttrHdr, size_t(alen - kAttrHdr))) return false;
    off += align4(alen);
  }
  // Trailing bytes shorter than a header are padding only when zero-length.
  return off >= len || len - off < kAttrHdr;
}

inline bool be16(const uint8_t* p, size_t n, uint16_t* v) {
  if (n < 2) return false;
  uint16_t x;
  std::memcpy(&x, p, 2);
  *v = ntohs(x);
  return true;
}
inline bool be32(const uint8_t* p, size_t n, uint32_t* v) {
  if (n < 4) return false;
  uint32_t x;
  std::memcpy(&x, p, 4);
  *v = ntohl(x);
  return true;
}
inline bool be64(const uint8_t* p, size_t n, uint64_t* v) {
  if (n < 8) return false;
  uint64_t x = 0;
  for (int i = 0; i < 8; i++) x = (x << 8) | p[i];
  *v = x;
  return true;
}

inline void v4mapped(uint8_t out[16], const uint8_t* v4) {
  std::memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(out + 12, v4, 4);
}

struct Tuple {
  uint8_t src[16]{}, dst[16]{};
  uint16_t sport = 0, dport = 0;
  uint8_t proto = 0, family = 0;
  bool has_src = false, has_dst = false, has_proto = false;
  bool complete() const { return has_src && has_dst && has_proto && family != 0; }
};

bool parse_tuple(const uint8_t* p, size_t len, Tuple* t) {
  return for_each_attr(p, len, [&](uint16_t type, const uint8_t* v, size_t n) {
    if (type == CTA_TUPLE_IP) {
      return for_each_attr(v, n, [&](uint16_t it, const uint8_t* iv, size_t in) {
        switch (it) {
          case CTA_IP_V4_SRC: if (in < 4) return false; v4mapped(t->src, iv); t->family = 4; t->has_src = true; break;
          case CTA_IP_V4_DST: if (in < 4) return false; v4mapped(t->dst, iv); t->family = 4; t->has_dst = true; break;
          case CTA_IP_V6_SRC: if (in < 16) return false; std::memcpy(t->src, iv, 16); t->family = 6; t->has_src = true; break;
          case CTA_IP_V6_DST: if (in < 16) return false; std::memcpy(t->dst, iv, 16); t->family = 6; t->has_dst = true; break;
          default: break;
        }
        return true;
      });
    }
    if (type == CTA_TUPLE_PROTO) {
      return for_each_attr(v, n, [&](uint16_t pt, const uint8_t* pv, size_t pn) {
        switch (pt) {
          case CTA_PROTO_NUM: if (pn < 1) return false; t->proto = pv[0]; t->has_proto = true; break;
          case CTA_PROTO_SRC_PORT: return be16(pv, pn, &t->sport);
          case CTA_PROTO_DST_PORT: return be16(pv, pn, &t->dport);
          default: break;
        }
        return true;
      });
    }
    return true;
  });
}

bool parse_counters(const uint8_t* p, size_t len, double* packets, double* bytes) {
  return for_each_attr(p, len, [&](uint16_t type, const uint8_t* v, size_t n) {
    uint64_t x = 0;
    uint32_t y = 0;
    switch (type) {
      case CTA_COUNTERS_PACKETS: if (!be64(v, n, &x)) return false; *packets = double(x); break;
      case CTA_COUNTERS_BYTES: if (!be64(v, n, &x)) return false; *bytes = double(x); break;
      case CTA_COUNTERS32_PACKETS: if (!be32(v, n, &y)) return false; *packets = double(y); break;
      case CTA_COUNTERS32_BYTES: if (!be32(v, n, &y)) return false; *bytes = double(y); break;
      default: break;
    }
    return true;
  });
}

}  // namespace

uint8_t classify_event(uint16_t nlmsg_type, uint16_t nlmsg_flags) {
  if ((nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK) return 0;
  switch (nlmsg_type & 0xff) {
    case IPCTNL_MSG_CT_NEW:
      return (nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) ? REC_NEW : REC_UPDATE;
    case IPCTNL_MSG_CT_DELETE:
      return REC_DESTROY;
    default:
      return 0;
  }
}

ParseResult parse_ct_message(const uint8_t* body, size_t len, uint8_t type, Record* out) {
  if (len < sizeof(nfgenmsg)) return PARSE_ERROR;
  std::memset(out, 0, sizeof(*out));
  out->type = type;
  Tuple orig, reply;
  bool has_orig = false, has_reply = false;
  const uint8_t* attrs = body + NLMSG_ALIGN(sizeof(nfgenmsg));
  size_t alen = len - NLMSG_ALIGN(sizeof(nfgenmsg));
  if (NLMSG_ALIGN(sizeof(nfgenmsg)) > len) return PARSE_ERROR;
  bool ok = for_each_attr(attrs, alen, [&](uint16_t t, const uint8_t* v, size_t n) {
    switch (t) {
      case CTA_TUPLE_ORIG: has_orig = true; return parse_tuple(v, n, &orig);
      case CTA_TUPLE_REPLY: has_reply = true; return parse_tuple(v, n, &reply);
      case CTA_STATUS: out->flags |= HAS_STATUS; return be32(v, n, &out->status);
      case CTA_MARK: out->flags |= HAS_MARK; return be32(v, n, &out->mark);
      case CTA_ID: out->flags |= HAS_ID; return be32(v, n, &out->id);
      case CTA_ZONE: out->flags |= HAS_ZONE; return be16(v, n, &out->zone);
      case CTA_COUNTERS_ORIG: out->flags |= HAS_COUNTERS; return parse_counters(v, n, &out->orig_packets, &out->orig_bytes);
      case CTA_COUNTERS_REPLY: out->flags |= HAS_COUNTERS; return parse_counters(v, n, &out->reply_packets, &out->reply_bytes);
      case CTA_PROTOINFO:
        return for_each_attr(v, n, [&](uint16_t pt, const uint8_t* pv, size_t pn) {
          if (pt != CTA_PROTOINFO_TCP) return true;
          return for_each_attr(pv, pn, [&](uint16_t tt, const uint8_t* tv, size_t tn) {
            if (tt != CTA_PROTOINFO_TCP_STATE) return true;
            if (tn < 1) return false;
            out->tcp_state = tv[0];
            out->flags |= HAS_TCP_STATE;
            return true;
          });
        });
      default:
        return true;
    }
  });
  if (!ok) return PARSE_ERROR;
  // An entry without a complete original tuple cannot be keyed: malformed.
  if (!has_orig || !orig.complete()) return PARSE_ERROR;
  out->family = orig.family;
  out->proto = orig.proto;
  std::memcpy(out->orig_src, orig.src, 16);
  std::memcpy(out->orig_dst, orig.dst, 16);
  out->orig_sport = orig.sport;
  out->orig_dport = orig.dport;
  if (has_reply && reply.complete()) {
    if (reply.family != orig.family) return PARSE_ERROR;
    out->flags |= HAS_REPLY;
    std::memcpy(out->reply_src, reply.src, 16);
    std::memcpy(out->reply_dst, reply.dst, 16);
    out->reply_sport = reply.sport;
    out->reply_dport = reply.dport;
  }
  return PARSE_OK;
}

}  // namespace podflow_ct
