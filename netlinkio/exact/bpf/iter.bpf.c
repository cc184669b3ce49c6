// SPDX-License-Identifier: GPL-2.0
/* The exact reader: a task_file iterator that writes, for every inet
 * socket any task holds, the fields of struct sock, struct inet_sock and,
 * for AF_INET6, struct ipv6_pinfo that an image carries, then the
 * socket's IPv4 multicast list and (AF_INET6) its IPv6 one as the kernel
 * keeps them (newest first), each entry with its source filter; and
 * iter/udp and iter/tcp programs that write the same records for every
 * socket of their namespace's tables, which find the sockets no task
 * holds (in flight in SCM_RIGHTS).
 *
 * It reads fields; it calls no getsockopt (the verifier refuses
 * bpf_getsockopt in iterators, or answers for few IP-level options). Every
 * read is a CO-RE relocation against the running kernel's BTF (types.h).
 * The record layouts below are mirrored in Go by bpf2go (-type), and parsed
 * in record.go. Nothing here is shared between runs: a reader limited to
 * one process passes its pid in the link's iterator parameters, not in a
 * program variable, so concurrent reads never wait on each other. */
#include "types.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>

/* Reads are plain loads through pointers the verifier types from the
 * kernel's BTF (each a CO-RE relocation, each checked and made safe by the
 * kernel as a PROBE_MEM load), not a bpf_probe_read_kernel call per field:
 * a socket has some sixty fields to read, and the helper calls were most
 * of a pass's time. bpf_rdonly_cast (Linux 6.2) gives a struct sock the
 * type of the struct that embeds it (inet_sock, udp_sock), since the
 * verifier refuses a load past the end of the type it knows. The
 * membership walks, in bpf_loop callbacks, keep BPF_CORE_READ. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define cast(type, p) ((type *)bpf_rdonly_cast((p), bpf_core_type_id_kernel(type)))

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3

/* MAX_MC bounds the walk of one socket's multicast list; a socket with more
 * memberships says so (truncated) and the reader refuses to dump it rather
 * than dump a part. net.ipv4.igmp_max_memberships is 20 by default. */
#define MAX_MC 256
/* A filter's sources are written SRC_CHUNK bytes at a time (the stack
 * holds 512 bytes in all), at most MAX_SRC sources: 1024, a hundred times
 * net.ipv4.igmp_max_msf's default and sixteen times net.ipv6.mld_max_msf's. */
#define SRC_CHUNK 32
#define MAX_SRC 1024
/* The longest byte run written in chunks: a classic filter's instructions
 * (8 bytes each, MAX_FILTER) or a filter's sources (16 bytes each). */
#define MAX_CHUNKS (MAX_FILTER * 8 / SRC_CHUNK)
#define MAX_IPOPT 40
/* RTAX_HOPLIMIT, a route's hop limit metric (include/uapi/linux/rtnetlink.h);
 * dst->_metrics points to the metrics, its low bits are flags. */
#define RTAX_HOPLIMIT 10
#define DST_METRICS_FLAGS 0x3UL

/* The output is a stream of records, each starting with its tag: a
 * sock_rec, a tcp_rec when the socket is TCP, a filter_rec with its instructions when the socket has a
 * classic filter, then one mc_rec per IPv4 membership and one mc6_rec per
 * IPv6 one (newest first, as the kernel's lists are), each followed by
 * its sources; a TAG_PARTIAL after them says a list was longer than this
 * program walks. */
#define TAG_SOCK 1
#define TAG_MC 2
#define TAG_PARTIAL 3
#define TAG_MC6 4
#define TAG_FILTER 5
#define TAG_TCP 6
#define TAG_INODE 7
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_UDPLITE 136
/* BPF_MAXINSNS: the most instructions a classic filter has. */
#define MAX_FILTER 4096
/* The most sockets no task holds that one walk of the tables reads whole
 * (wanted's size); a pass with more walks again. */
#define WANTED_MAX 4096

/* One socket. Addresses have room for AF_INET6 (16 bytes); an AF_INET
 * address takes the first four. Ports are in host order. */
struct sock_rec {
	__u32 tag;      /* TAG_SOCK */
	__u32 pid;      /* task->tgid of the holder */
	__u64 inode;    /* file->f_inode->i_ino: the sockfs inode */
	__u64 netns;    /* sock_net(sk)->ns.inum */
	__u32 fd;       /* the holder's descriptor */
	__u32 uid;      /* sk->sk_uid */
	__u16 family;   /* skc_family */
	__u16 type;     /* sk_type */
	__u16 protocol; /* sk_protocol */
	__u8 state;     /* skc_state */
	__u8 pad;
	__u16 local_port; /* skc_num */
	__u16 peer_port;  /* ntohs(skc_dport) */
	__u8 local[16];   /* skc_rcv_saddr, or skc_v6_rcv_saddr */
	__u8 peer[16];    /* skc_daddr, or skc_v6_daddr */

	/* struct sock */
	__u64 sk_flags;     /* skc_flags: SOCK_KEEPOPEN, SOCK_LINGER, ... */
	__s64 sk_rcvtimeo;  /* jiffies, LONG_MAX for none */
	__s64 sk_sndtimeo;
	__u64 sk_lingertime; /* jiffies */
	__u32 sk_priority;
	__s32 sk_rcvlowat;
	__s32 sk_sndbuf;
	__s32 sk_rcvbuf;
	__u32 sk_mark;
	__s32 sk_bound_dev_if;
	__u64 sk_max_pacing_rate;
	__u32 sk_reserved_mem;
	__s32 sk_peek_off;
	__s32 sk_incoming_cpu;
	__u32 sk_ll_usec;  /* 0 without CONFIG_NET_RX_BUSY_POLL */
	__u32 sk_tsflags;
	__s32 sk_bind_phc;
	__u8 sk_clockid;
	__u8 txtime_flags; /* sk_txtime_deadline_mode | sk_txtime_report_errors << 1 */
	__u8 filter;       /* 0 none, 1 classic (a filter_rec follows), 2 eBPF (no classic program) */
	__u8 skc_reuse;
	__u8 skc_reuseport;
	__u8 sk_no_check_tx;
	__u8 sk_userlocks;
	__u8 sk_txrehash;
	__u8 sk_prefer_busy_poll;

	/* struct inet_sock */
	__u64 inet_flags;   /* INET_FLAGS_PKTINFO, ... (bit numbers from BTF) */
	__s32 uc_index;
	__s32 mc_index;
	__u32 mc_addr;      /* network order */
	__s16 uc_ttl;       /* -1: follows net.ipv4.ip_default_ttl */
	__u8 tos;
	__u8 mc_ttl;
	__u8 pmtudisc;
	__u8 min_ttl;
	__u8 default_ttl;   /* sock_net(sk)->ipv4.sysctl_ip_default_ttl */
	__u8 opt_bits;      /* inet_opt: rr_needaddr | ts_needtime << 1 | ts_needaddr << 2 */
	__u32 local_port_range; /* high << 16 | low, 0 for the namespace's */

	/* struct udp_sock: UDP and UDP-Lite only, zero otherwise */
	__u64 udp_flags;    /* UDP_FLAGS_CORK, ... (bit numbers from BTF) */
	__u16 gso_size;
	__u16 pcslen;
	__u16 pcrlen;
	__u8 encap_type;

	/* inet_opt->opt, as ip_options_undo wants it */
	__u32 opt_faddr;
	__u8 opt_optlen;
	__u8 opt_srr;
	__u8 opt_rr;
	__u8 opt_ts;
	__u8 opt_data[MAX_IPOPT];

	/* struct ipv6_pinfo: AF_INET6 only, zero otherwise */
	__u8 saddr6[16];      /* np->saddr: getsockname's when skc_v6_rcv_saddr is :: */
	__u32 flow_label;     /* network order */
	__s32 ucast_oif;
	__s32 mcast_oif;
	__s32 dst_hop_limit;  /* ip6_dst_hoplimit(sk_dst_cache), -1 without one */
	__s32 all_hop_limit;  /* sock_net(sk)->ipv6.devconf_all->hop_limit */
	__s16 hop_limit;      /* -1: the route's or devconf_all's */
	__s16 mcast_hops;
	__u16 rxopt;          /* rxopt.all: rxinfo, rxhlim, ... (places from BTF) */
	__u8 pmtudisc6;
	__u8 tclass;
	__u8 srcprefs;
	__u8 min_hopcount;
	__u8 v6only;          /* skc_ipv6only */
	__u8 auto_flowlabels; /* sock_net(sk)->ipv6.sysctl.auto_flowlabels */
};

/* A TCP socket's struct tcp_sock and inet_connection_sock fields, as
 * do_tcp_getsockopt reads them, raw: Go does its arithmetic (HZ, the
 * sysctl a 0 stands for). Its own record, after the sock_rec, so that
 * the records of other sockets stay as small as they were. */
struct tcp_rec {
	__u32 tag;             /* TAG_TCP */
	__u32 mss_cache;
	__u32 keepalive_time;  /* jiffies, 0: sysctl_tcp_keepalive_time */
	__u32 keepalive_intvl; /* jiffies, 0: sysctl_tcp_keepalive_intvl */
	__s32 linger2;         /* jiffies, 0: sysctl_tcp_fin_timeout, -1: none */
	__u32 window_clamp;
	__u32 user_timeout;    /* icsk_user_timeout, ms */
	__s32 fastopen_qlen;   /* icsk_accept_queue.fastopenq.max_qlen */
	__u32 notsent_lowat;
	__u32 tx_delay;        /* tcp_tx_delay, us */
	__u32 rto_max;         /* icsk_rto_max, jiffies (has & HAS_RTO_MAX) */
	__u32 rto_min;         /* icsk_rto_min, jiffies (has & HAS_RTO_MIN) */
	__u32 delack_max;      /* icsk_delack_max, jiffies (has & HAS_DELACK_MAX) */
	__s32 sysctl_keepalive_time;  /* the namespace's, jiffies */
	__s32 sysctl_keepalive_intvl;
	__s32 sysctl_fin_timeout;
	__u16 user_mss;        /* rx_opt.user_mss */
	__u16 mss_clamp;       /* rx_opt.mss_clamp */
	__u8 nonagle;          /* TCP_NAGLE_OFF 1 | TCP_NAGLE_CORK 2 | TCP_NAGLE_PUSH 4 */
	__u8 keepalive_probes; /* 0: sysctl_tcp_keepalive_probes */
	__u8 syn_retries;      /* icsk_syn_retries, 0: sysctl_tcp_syn_retries */
	__u8 defer_accept;     /* rskq_defer_accept, in retransmits */
	__u8 pingpong;         /* icsk_ack.pingpong */
	__u8 pingpong_thresh;  /* sysctl_tcp_pingpong_thresh, 1 before Linux 6.8 */
	__u8 sysctl_keepalive_probes;
	__u8 sysctl_syn_retries;
	__u8 bits;             /* thin_lto | fastopen_connect << 1 | fastopen_no_cookie << 2 | recvmsg_inq << 3 | repair << 4 */
	__u8 save_syn;
	__u8 has;              /* HAS_*: the newer fields this kernel has */
	__u8 pad;
	char ca_name[16];      /* icsk_ca_ops->name */
};

/* tcp_rec.has: a kernel without the field keeps the value in a constant
 * (TCP_RTO_MIN, TCP_RTO_MAX, TCP_DELACK_MAX), which Go puts in. */
#define HAS_RTO_MIN 1
#define HAS_RTO_MAX 2
#define HAS_DELACK_MAX 4

/* One membership of inet->mc_list, followed by nsrc __u32 sources. */
struct mc_rec {
	__u32 tag;       /* TAG_MC */
	__u32 multiaddr; /* multi.imr_multiaddr, network order */
	__u32 address;   /* multi.imr_address, network order */
	__s32 ifindex;   /* multi.imr_ifindex */
	__u32 sfmode;    /* MCAST_EXCLUDE 0, MCAST_INCLUDE 1 */
	__u32 nsrc;      /* sflist->sl_count */
};

/* One socket of a table, by inode only (the first walk of the tables). */
struct inode_rec {
	__u32 tag; /* TAG_INODE */
	__u32 pad;
	__u64 inode;
};

/* The socket's classic filter (SO_GET_FILTER's), followed by len struct
 * sock_filter instructions of 8 bytes. */
struct filter_rec {
	__u32 tag; /* TAG_FILTER */
	__u32 len; /* instructions */
};

/* One membership of ipv6_pinfo->ipv6_mc_list, followed by nsrc in6_addr
 * sources. */
struct mc6_rec {
	__u32 tag;    /* TAG_MC6 */
	__s32 ifindex;
	__u32 sfmode; /* MCAST_EXCLUDE 0, MCAST_INCLUDE 1 */
	__u32 nsrc;   /* sflist->sl_count */
	__u8 group[16];
};

/* Bit numbers the reader tests are looked up by name in Go; these
 * locals only keep the record structs in the object's BTF for bpf2go. */
struct sock_rec unused_sock_rec __attribute__((unused));
struct mc_rec unused_mc_rec __attribute__((unused));
struct mc6_rec unused_mc6_rec __attribute__((unused));
struct filter_rec unused_filter_rec __attribute__((unused));
struct tcp_rec unused_tcp_rec __attribute__((unused));
struct inode_rec unused_inode_rec __attribute__((unused));

static __always_inline void read_addresses(struct sock_rec *r, struct sock *sk)
{
	r->local_port = sk->__sk_common.skc_num;
	r->peer_port = __builtin_bswap16(sk->__sk_common.skc_dport);
	if (r->family == AF_INET) {
		__be32 a = sk->__sk_common.skc_rcv_saddr;
		__builtin_memcpy(r->local, &a, 4);
		a = sk->__sk_common.skc_daddr;
		__builtin_memcpy(r->peer, &a, 4);
	} else {
		BPF_CORE_READ_INTO(&r->local, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&r->peer, sk, __sk_common.skc_v6_daddr);
	}
}

static __always_inline void read_sock(struct sock_rec *r, struct sock *sk)
{
	r->sk_flags = sk->__sk_common.skc_flags;
	r->sk_rcvtimeo = sk->sk_rcvtimeo;
	r->sk_sndtimeo = sk->sk_sndtimeo;
	r->sk_lingertime = sk->sk_lingertime;
	r->sk_priority = sk->sk_priority;
	r->sk_rcvlowat = sk->sk_rcvlowat;
	r->sk_sndbuf = sk->sk_sndbuf;
	r->sk_rcvbuf = sk->sk_rcvbuf;
	r->sk_mark = sk->sk_mark;
	r->sk_bound_dev_if = sk->__sk_common.skc_bound_dev_if;
	struct sock_common *skc = &sk->__sk_common;
	r->skc_reuse = BPF_CORE_READ_BITFIELD(skc, skc_reuse);
	r->skc_reuseport = BPF_CORE_READ_BITFIELD(skc, skc_reuseport);
	r->sk_no_check_tx = BPF_CORE_READ_BITFIELD(sk, sk_no_check_tx);
	r->sk_userlocks = BPF_CORE_READ_BITFIELD(sk, sk_userlocks);
	r->sk_max_pacing_rate = sk->sk_max_pacing_rate;
	r->sk_reserved_mem = sk->sk_reserved_mem;
	r->sk_peek_off = sk->sk_peek_off;
	r->sk_incoming_cpu = sk->__sk_common.skc_incoming_cpu;
	r->sk_txrehash = sk->sk_txrehash;
	r->sk_tsflags = sk->sk_tsflags;
	r->sk_bind_phc = sk->sk_bind_phc;
	r->sk_clockid = sk->sk_clockid;
	r->txtime_flags = BPF_CORE_READ_BITFIELD(sk, sk_txtime_deadline_mode) |
			  BPF_CORE_READ_BITFIELD(sk, sk_txtime_report_errors) << 1;
	if (bpf_core_field_exists(sk->sk_ll_usec)) {
		r->sk_ll_usec = sk->sk_ll_usec;
		r->sk_prefer_busy_poll = sk->sk_prefer_busy_poll;
	}
}

static __always_inline void read_inet(struct sock_rec *r, struct inet_sock *inet)
{
	r->inet_flags = inet->inet_flags;
	r->uc_index = inet->uc_index;
	r->mc_index = inet->mc_index;
	r->mc_addr = inet->mc_addr;
	r->uc_ttl = inet->uc_ttl;
	r->tos = inet->tos;
	r->mc_ttl = inet->mc_ttl;
	r->pmtudisc = inet->pmtudisc;
	r->min_ttl = inet->min_ttl;
	r->default_ttl = inet->sk.__sk_common.skc_net.net->ipv4.sysctl_ip_default_ttl;
	r->local_port_range = inet->local_port_range;

	struct ip_options_rcu *o = inet->inet_opt;
	if (!o)
		return;
	struct ip_options *opt = &o->opt;
	r->opt_faddr = opt->faddr;
	r->opt_optlen = opt->optlen;
	r->opt_srr = opt->srr;
	r->opt_rr = opt->rr;
	r->opt_ts = opt->ts;
	r->opt_bits = BPF_CORE_READ_BITFIELD(opt, rr_needaddr) |
		      BPF_CORE_READ_BITFIELD(opt, ts_needtime) << 1 |
		      BPF_CORE_READ_BITFIELD(opt, ts_needaddr) << 2;
	bpf_core_read(r->opt_data, sizeof(r->opt_data), &opt->__data);
}

static __always_inline void read_udp(struct sock_rec *r, struct udp_sock *up)
{
	r->udp_flags = up->udp_flags;
	r->encap_type = up->encap_type;
	r->gso_size = up->gso_size;
	r->pcslen = up->pcslen;
	r->pcrlen = up->pcrlen;
}

/* read_tcp reads what do_tcp_getsockopt does, and the namespace's
 * sysctls its 0s stand for. */
static __always_inline void read_tcp(struct tcp_rec *t, struct tcp_sock *tp)
{
	struct inet_connection_sock *icsk = &tp->inet_conn;
	t->mss_cache = tp->mss_cache;
	t->keepalive_time = tp->keepalive_time;
	t->keepalive_intvl = tp->keepalive_intvl;
	t->keepalive_probes = tp->keepalive_probes;
	t->linger2 = tp->linger2;
	t->window_clamp = tp->window_clamp;
	t->notsent_lowat = tp->notsent_lowat;
	t->tx_delay = tp->tcp_tx_delay;
	t->user_mss = tp->rx_opt.user_mss;
	t->mss_clamp = tp->rx_opt.mss_clamp;
	t->nonagle = BPF_CORE_READ_BITFIELD(tp, nonagle);
	t->save_syn = BPF_CORE_READ_BITFIELD(tp, save_syn);
	t->bits = BPF_CORE_READ_BITFIELD(tp, thin_lto) |
		  BPF_CORE_READ_BITFIELD(tp, fastopen_connect) << 1 |
		  BPF_CORE_READ_BITFIELD(tp, fastopen_no_cookie) << 2 |
		  BPF_CORE_READ_BITFIELD(tp, recvmsg_inq) << 3 |
		  BPF_CORE_READ_BITFIELD(tp, repair) << 4;
	t->user_timeout = icsk->icsk_user_timeout;
	t->fastopen_qlen = icsk->icsk_accept_queue.fastopenq.max_qlen;
	t->defer_accept = icsk->icsk_accept_queue.rskq_defer_accept;
	t->syn_retries = icsk->icsk_syn_retries;
	t->pingpong = icsk->icsk_ack.pingpong;
	if (bpf_core_field_exists(icsk->icsk_rto_min)) {
		t->rto_min = icsk->icsk_rto_min;
		t->has |= HAS_RTO_MIN;
	}
	if (bpf_core_field_exists(icsk->icsk_rto_max)) {
		t->rto_max = icsk->icsk_rto_max;
		t->has |= HAS_RTO_MAX;
	}
	if (bpf_core_field_exists(icsk->icsk_delack_max)) {
		t->delack_max = icsk->icsk_delack_max;
		t->has |= HAS_DELACK_MAX;
	}
	const struct tcp_congestion_ops *ca = icsk->icsk_ca_ops;
	if (ca)
		BPF_CORE_READ_INTO(&t->ca_name, ca, name);

	struct net *net = icsk->icsk_inet.sk.__sk_common.skc_net.net;
	t->sysctl_keepalive_time = net->ipv4.sysctl_tcp_keepalive_time;
	t->sysctl_keepalive_intvl = net->ipv4.sysctl_tcp_keepalive_intvl;
	t->sysctl_keepalive_probes = net->ipv4.sysctl_tcp_keepalive_probes;
	t->sysctl_syn_retries = net->ipv4.sysctl_tcp_syn_retries;
	t->sysctl_fin_timeout = net->ipv4.sysctl_tcp_fin_timeout;
	t->pingpong_thresh = 1;
	if (bpf_core_field_exists(net->ipv4.sysctl_tcp_pingpong_thresh))
		t->pingpong_thresh = net->ipv4.sysctl_tcp_pingpong_thresh;
}

/* write_tcp writes a TCP socket's tcp_rec. Not inlined: its record is on
 * a frame of its own, which the sock_rec's frame and this one's share the
 * 512-byte stack with, where inlined the two records and a membership
 * walk's frame would not fit. */
static __noinline void write_tcp(struct seq_file *seq, struct tcp_sock *tp)
{
	struct tcp_rec t = {.tag = TAG_TCP};
	read_tcp(&t, tp);
	bpf_seq_write(seq, &t, sizeof(t));
}

/* dst_hop_limit is ip6_dst_hoplimit: the route's hop limit metric, else
 * its device's hop_limit, else the namespace's; -1 without a route. It is
 * what getsockopt(IPV6_UNICAST_HOPS) reports for a hop limit of -1. */
static __always_inline __s32 dst_hop_limit(struct sock *sk, __s32 all)
{
	struct dst_entry *dst = BPF_CORE_READ(sk, sk_dst_cache);
	if (!dst)
		return -1;
	unsigned long m = BPF_CORE_READ(dst, _metrics) & ~DST_METRICS_FLAGS;
	__u32 h = 0;
	if (m)
		bpf_probe_read_kernel(&h, sizeof(h), (const void *)m + (RTAX_HOPLIMIT - 1) * sizeof(__u32));
	if (h)
		return h;
	struct inet6_dev *idev = BPF_CORE_READ(dst, dev, ip6_ptr);
	if (idev)
		return BPF_CORE_READ(idev, cnf.hop_limit);
	return all;
}

static __always_inline void read_ipv6(struct sock_rec *r, struct sock *sk, struct ipv6_pinfo *np)
{
	r->v6only = BPF_CORE_READ_BITFIELD(&sk->__sk_common, skc_ipv6only);
	struct net *net = sk->__sk_common.skc_net.net;
	r->all_hop_limit = net->ipv6.devconf_all->hop_limit;
	r->auto_flowlabels = net->ipv6.sysctl.auto_flowlabels;
	if (!np)
		return;
	BPF_CORE_READ_INTO(&r->saddr6, np, saddr);
	r->flow_label = np->flow_label;
	r->ucast_oif = np->ucast_oif;
	r->mcast_oif = np->mcast_oif;
	r->hop_limit = np->hop_limit;
	r->mcast_hops = np->mcast_hops;
	r->rxopt = np->rxopt.all;
	r->pmtudisc6 = np->pmtudisc;
	r->tclass = np->tclass;
	r->srcprefs = np->srcprefs;
	r->min_hopcount = np->min_hopcount;
	r->dst_hop_limit = dst_hop_limit(sk, r->all_hop_limit);
}

/* The walks use bpf_loop (Linux 5.17): the verifier checks a callback
 * once, where a plain bounded loop of loops is checked iteration by
 * iteration and grows past its million-instruction budget. */

struct src_walk {
	struct seq_file *seq;
	const void *addrs; /* the filter's sl_addr */
	__u32 n;           /* bytes to write */
};

/* src_chunk writes the idx-th SRC_CHUNK bytes of a filter's sources. */
static long src_chunk(__u64 idx, struct src_walk *w)
{
	__u8 chunk[SRC_CHUNK];
	__u64 at = idx * SRC_CHUNK;
	if (at >= w->n)
		return 1;
	/* 64-bit and unsigned, with a barrier, so the verifier sees
	 * 0 < bytes <= sizeof(chunk). */
	__u64 bytes = w->n - at;
	if (bytes > SRC_CHUNK)
		bytes = SRC_CHUNK;
	barrier_var(bytes);
	if (bpf_probe_read_kernel(chunk, bytes, w->addrs + at))
		__builtin_memset(chunk, 0, sizeof(chunk));
	bpf_seq_write(w->seq, chunk, bytes);
	return 0;
}

/* write_sources writes n sources of size bytes each from addrs: the
 * sl_addr of a source filter (its offset by relocation, the element by
 * arithmetic, since a relocation cannot index a flexible array), or a
 * classic filter's instructions. */
static __always_inline void write_sources(struct seq_file *seq, const void *addrs, __u32 n, __u32 size)
{
	if (!n)
		return;
	struct src_walk sw = {.seq = seq, .addrs = addrs, .n = n * size};
	bpf_loop(MAX_CHUNKS, src_chunk, &sw, 0);
}

struct mc_walk {
	struct seq_file *seq;
	struct ip_mc_socklist *ml; /* the next entry to write */
	__u8 truncated;
};

/* mc_entry writes one entry of inet->mc_list: an mc_rec and its sources. */
static long mc_entry(__u64 idx, struct mc_walk *w)
{
	struct ip_mc_socklist *ml = w->ml;
	if (!ml)
		return 1;
	struct mc_rec m = {.tag = TAG_MC};
	m.multiaddr = BPF_CORE_READ(ml, multi.imr_multiaddr.s_addr);
	m.address = BPF_CORE_READ(ml, multi.imr_address.s_addr);
	m.ifindex = BPF_CORE_READ(ml, multi.imr_ifindex);
	m.sfmode = BPF_CORE_READ(ml, sfmode);
	struct ip_sf_socklist *sl = BPF_CORE_READ(ml, sflist);
	if (sl)
		m.nsrc = BPF_CORE_READ(sl, sl_count);
	if (m.nsrc > MAX_SRC) {
		m.nsrc = MAX_SRC;
		w->truncated = 1;
	}
	bpf_seq_write(w->seq, &m, sizeof(m));
	if (sl)
		write_sources(w->seq, (const void *)sl + bpf_core_field_offset(struct ip_sf_socklist, sl_addr), m.nsrc, 4);
	w->ml = BPF_CORE_READ(ml, next_rcu);
	return 0;
}

struct mc6_walk {
	struct seq_file *seq;
	struct ipv6_mc_socklist *ml; /* the next entry to write */
	__u8 truncated;
};

/* mc6_entry writes one entry of np->ipv6_mc_list: an mc6_rec and its
 * sources. */
static long mc6_entry(__u64 idx, struct mc6_walk *w)
{
	struct ipv6_mc_socklist *ml = w->ml;
	if (!ml)
		return 1;
	struct mc6_rec m = {.tag = TAG_MC6};
	BPF_CORE_READ_INTO(&m.group, ml, addr);
	m.ifindex = BPF_CORE_READ(ml, ifindex);
	m.sfmode = BPF_CORE_READ(ml, sfmode);
	struct ip6_sf_socklist *sl = BPF_CORE_READ(ml, sflist);
	if (sl)
		m.nsrc = BPF_CORE_READ(sl, sl_count);
	if (m.nsrc > MAX_SRC) {
		m.nsrc = MAX_SRC;
		w->truncated = 1;
	}
	bpf_seq_write(w->seq, &m, sizeof(m));
	if (sl)
		write_sources(w->seq, (const void *)sl + bpf_core_field_offset(struct ip6_sf_socklist, sl_addr), m.nsrc, 16);
	w->ml = BPF_CORE_READ(ml, next);
	return 0;
}

/* read_filter says what filter the socket has (r->filter) and returns
 * its classic program, as sk_get_filter gives it: orig_prog, the program
 * as attached, which an eBPF filter lacks. */
static __always_inline struct sock_fprog_kern *read_filter(struct sock_rec *r, struct sock *sk)
{
	struct sk_filter *f = sk->sk_filter;
	if (!f)
		return 0;
	struct sock_fprog_kern *fp = f->prog->orig_prog;
	r->filter = fp ? 1 : 2;
	return fp;
}

/* write_filter writes a filter_rec and the instructions of fp. */
static __always_inline void write_filter(struct seq_file *seq, struct sock_fprog_kern *fp)
{
	struct filter_rec fr = {.tag = TAG_FILTER, .len = BPF_CORE_READ(fp, len)};
	if (fr.len > MAX_FILTER)
		fr.len = MAX_FILTER;
	bpf_seq_write(seq, &fr, sizeof(fr));
	write_sources(seq, BPF_CORE_READ(fp, filter), fr.len, 8);
}

/* write_memberships walks inet->mc_list and, with np, np->ipv6_mc_list,
 * newest first as the kernel keeps them, then writes TAG_PARTIAL when a
 * list or a filter was longer than the walk goes. */
static __always_inline void write_memberships(struct seq_file *seq, struct inet_sock *inet, struct ipv6_pinfo *np)
{
	struct mc_walk w = {.seq = seq, .ml = BPF_CORE_READ(inet, mc_list)};
	bpf_loop(MAX_MC, mc_entry, &w, 0);
	struct mc6_walk w6 = {.seq = seq};
	if (np) {
		w6.ml = BPF_CORE_READ(np, ipv6_mc_list);
		bpf_loop(MAX_MC, mc6_entry, &w6, 0);
	}
	if (w.ml || w.truncated || w6.ml || w6.truncated) {
		__u32 partial = TAG_PARTIAL;
		bpf_seq_write(seq, &partial, sizeof(partial));
	}
}

/* write_sock writes the socket's records when it is an AF_INET or
 * AF_INET6 UDP, UDP-Lite, TCP or raw socket. pid and fd say which task
 * holds it; 0 and 0 from the socket iterators, which see no task. */
static __always_inline void write_sock(struct seq_file *seq, void *any, __u64 inode, __u32 pid, __u32 fd)
{
	struct sock *sk = cast(struct sock, any);
	struct sock_rec r = {.tag = TAG_SOCK};
	r.family = sk->__sk_common.skc_family;
	if (r.family != AF_INET && r.family != AF_INET6)
		return;
	r.type = sk->sk_type;
	if (r.type != SOCK_STREAM && r.type != SOCK_DGRAM && r.type != SOCK_RAW)
		return;
	r.protocol = sk->sk_protocol;
	r.inode = inode;
	r.netns = sk->__sk_common.skc_net.net->ns.inum;
	r.pid = pid;
	r.fd = fd;
	r.uid = sk->sk_uid.val;
	r.state = sk->__sk_common.skc_state;
	read_addresses(&r, sk);
	read_sock(&r, sk);
	struct inet_sock *inet = cast(struct inet_sock, sk);
	read_inet(&r, inet);
	struct ipv6_pinfo *np = 0;
	if (r.family == AF_INET6) {
		np = inet->pinet6;
		read_ipv6(&r, sk, np);
	}
	if (r.type == SOCK_DGRAM && (r.protocol == IPPROTO_UDP || r.protocol == IPPROTO_UDPLITE))
		read_udp(&r, cast(struct udp_sock, sk));
	struct sock_fprog_kern *fp = read_filter(&r, sk);

	bpf_seq_write(seq, &r, sizeof(r));
	if (r.type == SOCK_STREAM && r.protocol == IPPROTO_TCP)
		write_tcp(seq, cast(struct tcp_sock, sk));
	if (fp)
		write_filter(seq, fp);
	write_memberships(seq, inet, np);
}

SEC("iter/task_file")
int inet_sockets(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	if (!file || !task)
		return 0;
	struct socket *sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	__u64 ino = file->f_inode->i_ino;
	struct sock *sk = sock->sk;
	if (!sk)
		return 0;
	write_sock(ctx->meta->seq, sk, ino, task->tgid, ctx->fd);
	return 0;
}

/* wanted holds the inodes of the sockets no task holds that a pass reads
 * whole (the table walks below). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WANTED_MAX);
	__type(key, __u64);
	__type(value, __u32);
} wanted SEC(".maps");

/* A holder's process and descriptor, for a one-socket read. */
struct holder {
	__u32 pid;
	__u32 fd;
};

/* asked holds the sockets that one-socket reads ask for right now: the
 * reader duplicates the holder's descriptor (pidfd_getfd), gives the
 * duplicate storage here with the holder's pid and fd, and runs
 * asked_sockets, which visits the sockets with storage in the map and
 * nothing else; then it takes the storage away. A dump of one socket so
 * costs the same whether its holder holds one socket or a hundred
 * thousand (a task_file walk of the holder visits every descriptor).
 * Concurrent reads each add their own socket: a read may see another's
 * record too, which the reader skips, and none waits on another. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct holder);
} asked SEC(".maps");

/* file_inode is the sockfs inode of the socket's file: what a holder's
 * /proc/PID/fd link names. 0 for a socket with no file (the kernel's
 * own, or one being closed), which the socket iterators skip. */
static __always_inline __u64 file_inode(struct sock *sk)
{
	struct socket *sock = cast(struct sock, sk)->sk_socket;
	if (!sock)
		return 0;
	struct file *f = sock->file;
	if (!f)
		return 0;
	return f->f_inode->i_ino;
}

SEC("iter/bpf_sk_storage_map")
int asked_sockets(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct sock *sk = ctx->sk;
	struct holder *h = ctx->value;
	if (!sk || !h)
		return 0;
	__u64 ino = file_inode(sk);
	if (ino)
		write_sock(ctx->meta->seq, sk, ino, h->pid, h->fd);
	return 0;
}

/* The socket iterators walk the tables of the namespace the iterator was
 * made in, whoever holds the sockets: they find the ones no task does
 * (in flight in SCM_RIGHTS), which the task_file iterator cannot see.
 * There is no raw socket iterator (Linux has iter/udp and iter/tcp).
 * A pass walks them twice: udp_sockets and tcp_sockets name every socket
 * of the tables (an inode_rec each); the ones no task_file record holds
 * are then read whole by udp_wanted and tcp_wanted, limited to them
 * (wanted). Almost every socket is held, and its record comes from the
 * task_file pass: writing it twice was a third of a pass. */
static __always_inline void table_sock(struct seq_file *seq, struct sock *sk, void *only)
{
	__u64 ino = file_inode(sk);
	if (!ino)
		return;
	if (!only) {
		struct inode_rec r = {.tag = TAG_INODE, .inode = ino};
		bpf_seq_write(seq, &r, sizeof(r));
	} else if (bpf_map_lookup_elem(only, &ino)) {
		write_sock(seq, sk, ino, 0, 0);
	}
}

SEC("iter/udp")
int udp_sockets(struct bpf_iter__udp *ctx)
{
	if (ctx->udp_sk)
		table_sock(ctx->meta->seq, (struct sock *)ctx->udp_sk, 0);
	return 0;
}

SEC("iter/udp")
int udp_wanted(struct bpf_iter__udp *ctx)
{
	if (ctx->udp_sk)
		table_sock(ctx->meta->seq, (struct sock *)ctx->udp_sk, &wanted);
	return 0;
}

/* TCP_TIME_WAIT and TCP_NEW_SYN_RECV are a inet_timewait_sock and a
 * request_sock: no struct sock behind them, and no file. */
#define TCP_TIME_WAIT 6
#define TCP_NEW_SYN_RECV 12

static __always_inline struct sock *tcp_full_sock(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc)
		return 0;
	__u8 state = skc->skc_state;
	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
		return 0;
	return (struct sock *)skc;
}

SEC("iter/tcp")
int tcp_sockets(struct bpf_iter__tcp *ctx)
{
	struct sock *sk = tcp_full_sock(ctx);
	if (sk)
		table_sock(ctx->meta->seq, sk, 0);
	return 0;
}

SEC("iter/tcp")
int tcp_wanted(struct bpf_iter__tcp *ctx)
{
	struct sock *sk = tcp_full_sock(ctx);
	if (sk)
		table_sock(ctx->meta->seq, sk, &wanted);
	return 0;
}
