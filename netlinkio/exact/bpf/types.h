/* The kernel structures the exact reader reads, with only the fields it
 * reads. preserve_access_index makes every access a CO-RE relocation:
 * libbpf-style loaders (cilium/ebpf) find each field by name in the
 * running kernel's BTF (/sys/kernel/btf/vmlinux) and patch its offset, so
 * the layout below need not match any kernel. A field the running kernel
 * lacks fails the load, and inetcr falls back to the stock reader. */
#ifndef INETCR_TYPES_H
#define INETCR_TYPES_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

/* The map types the program makes (include/uapi/linux/bpf.h): a value
 * fixed by the ABI, not a relocation. */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_SK_STORAGE = 24,
};

/* A socket storage map is allocated as sockets get storage. */
#define BPF_F_NO_PREALLOC 1

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct ns_common {
	unsigned int inum;
};

struct netns_ipv4 {
	__u8 sysctl_ip_default_ttl;
	/* TCP's defaults for what a socket leaves unset (0) */
	int sysctl_tcp_keepalive_time;
	int sysctl_tcp_keepalive_intvl;
	__u8 sysctl_tcp_keepalive_probes;
	__u8 sysctl_tcp_syn_retries;
	int sysctl_tcp_fin_timeout;
	/* Linux 6.8; before it the threshold was the constant 1 */
	__u8 sysctl_tcp_pingpong_thresh;
};

struct ipv6_devconf {
	__s32 hop_limit;
};

struct netns_sysctl_ipv6 {
	__u8 auto_flowlabels;
};

struct netns_ipv6 {
	struct netns_sysctl_ipv6 sysctl;
	struct ipv6_devconf *devconf_all;
};

struct net {
	struct ns_common ns;
	struct netns_ipv4 ipv4;
	struct netns_ipv6 ipv6;
};

typedef struct {
	struct net *net;
} possible_net_t;

struct in6_addr {
	__u8 s6_addr[16];
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	unsigned char skc_reuse : 4;
	unsigned char skc_reuseport : 1;
	unsigned char skc_ipv6only : 1;
	int skc_bound_dev_if;
	int skc_incoming_cpu;
	possible_net_t skc_net;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
	unsigned long skc_flags;
};

typedef struct {
	unsigned int val;
} kuid_t;

struct inet6_dev {
	struct ipv6_devconf cnf;
};

struct net_device {
	struct inet6_dev *ip6_ptr;
};

struct dst_entry {
	struct net_device *dev;
	unsigned long _metrics;
};

struct sock_filter {
	__u16 code;
	__u8 jt;
	__u8 jf;
	__u32 k;
};

struct sock_fprog_kern {
	__u16 len;
	struct sock_filter *filter;
};

struct bpf_prog {
	struct sock_fprog_kern *orig_prog;
};

struct sk_filter {
	struct bpf_prog *prog;
};

struct socket;

struct sock {
	struct sock_common __sk_common;
	struct socket *sk_socket;
	struct sk_filter *sk_filter;
	struct dst_entry *sk_dst_cache;
	__u8 sk_userlocks;
	int sk_rcvbuf;
	long sk_rcvtimeo;
	int sk_rcvlowat;
	long sk_sndtimeo;
	__u32 sk_priority;
	__u32 sk_mark;
	kuid_t sk_uid;
	__u16 sk_protocol;
	__u16 sk_type;
	int sk_sndbuf;
	__u8 sk_no_check_tx : 1;
	unsigned long sk_lingertime;
	unsigned long sk_max_pacing_rate;
	__u32 sk_reserved_mem;
	__s32 sk_peek_off;
	__u8 sk_txrehash;
	__u32 sk_tsflags;
	int sk_bind_phc;
	__u8 sk_clockid;
	__u8 sk_txtime_deadline_mode : 1;
	__u8 sk_txtime_report_errors : 1;
	/* CONFIG_NET_RX_BUSY_POLL: read only where the kernel has them */
	unsigned int sk_ll_usec;
	__u8 sk_prefer_busy_poll;
};

struct in_addr {
	__be32 s_addr;
};

struct ip_mreqn {
	struct in_addr imr_multiaddr;
	struct in_addr imr_address;
	int imr_ifindex;
};

struct ip_sf_socklist {
	unsigned int sl_max;
	unsigned int sl_count;
	__be32 sl_addr[];
};

struct ip_mc_socklist {
	struct ip_mc_socklist *next_rcu;
	struct ip_mreqn multi;
	unsigned int sfmode;
	struct ip_sf_socklist *sflist;
};

struct ip_options {
	__be32 faddr;
	unsigned char optlen;
	unsigned char srr;
	unsigned char rr;
	unsigned char ts;
	unsigned char rr_needaddr : 1;
	unsigned char ts_needtime : 1;
	unsigned char ts_needaddr : 1;
	unsigned char __data[];
};

struct ip_options_rcu {
	struct ip_options opt;
};

struct ip6_sf_socklist {
	unsigned int sl_max;
	unsigned int sl_count;
	struct in6_addr sl_addr[];
};

struct ipv6_mc_socklist {
	struct in6_addr addr;
	int ifindex;
	unsigned int sfmode;
	struct ipv6_mc_socklist *next;
	struct ip6_sf_socklist *sflist;
};

/* rxopt's bits (rxinfo, rxhlim, ...) are read as the whole word; Go finds
 * each bit's place in the kernel's BTF. */
struct ipv6_pinfo {
	struct in6_addr saddr;
	__be32 flow_label;
	__s16 hop_limit;
	__u8 pmtudisc;
	__u8 tclass;
	__u8 mcast_hops;
	int ucast_oif;
	int mcast_oif;
	union {
		__u16 all;
	} rxopt;
	__u8 srcprefs;
	__u8 min_hopcount;
	struct ipv6_mc_socklist *ipv6_mc_list;
};

struct inet_sock {
	struct sock sk;
	struct ipv6_pinfo *pinet6;
	unsigned long inet_flags;
	__s16 uc_ttl;
	struct ip_options_rcu *inet_opt;
	__u8 tos;
	__u8 min_ttl;
	__u8 mc_ttl;
	__u8 pmtudisc;
	int uc_index;
	int mc_index;
	__be32 mc_addr;
	struct ip_mc_socklist *mc_list;
	__u32 local_port_range;
};

struct fastopen_queue {
	int max_qlen;
};

struct request_sock_queue {
	__u8 rskq_defer_accept;
	struct fastopen_queue fastopenq;
};

struct tcp_congestion_ops {
	char name[16];
};

/* The fields of struct tcp_sock and struct inet_connection_sock that
 * do_tcp_getsockopt reads. icsk_rto_min, icsk_delack_max (5.10) and
 * icsk_rto_max (6.15) are read only where the kernel has them. */
struct inet_connection_sock {
	struct inet_sock icsk_inet;
	struct request_sock_queue icsk_accept_queue;
	__u32 icsk_rto_min;
	__u32 icsk_rto_max;
	__u32 icsk_delack_max;
	const struct tcp_congestion_ops *icsk_ca_ops;
	__u8 icsk_syn_retries;
	struct {
		__u8 pingpong;
	} icsk_ack;
	__u32 icsk_user_timeout;
};

struct tcp_options_received {
	__u16 user_mss;
	__u16 mss_clamp;
};

struct tcp_sock {
	struct inet_connection_sock inet_conn;
	__u32 mss_cache;
	__u32 notsent_lowat;
	__u8 repair : 1;
	__u8 recvmsg_inq : 1;
	__u8 nonagle : 4;
	__u32 window_clamp;
	struct tcp_options_received rx_opt;
	__u8 thin_lto : 1;
	__u8 fastopen_connect : 1;
	__u8 fastopen_no_cookie : 1;
	__u8 save_syn : 2;
	__u8 keepalive_probes;
	__u32 tcp_tx_delay;
	unsigned int keepalive_time;
	unsigned int keepalive_intvl;
	int linger2;
};

struct udp_sock {
	unsigned long udp_flags;
	__u8 encap_type;
	__u16 gso_size;
	__u16 pcslen;
	__u16 pcrlen;
};

struct file;

struct socket {
	struct sock *sk;
	struct file *file;
};

struct inode {
	unsigned long i_ino;
};

struct file {
	struct inode *f_inode;
};

struct task_struct {
	int tgid;
};

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
};

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

/* The socket iterators of the namespace the iterator was made in: every
 * UDP socket of its hash table, and every TCP one of the listening and
 * established tables (request and time-wait ones too, which the program
 * skips: they are no struct sock). */
struct bpf_iter__udp {
	struct bpf_iter_meta *meta;
	struct udp_sock *udp_sk;
};

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
};

/* The iterator of a socket storage map: every socket that has storage in
 * it, with its value. */
struct bpf_iter__bpf_sk_storage_map {
	struct bpf_iter_meta *meta;
	struct sock *sk;
	void *value;
};

#pragma clang attribute pop

#endif
