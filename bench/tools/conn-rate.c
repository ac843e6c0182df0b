/* Connection-rate load for bench/datapath.bench.ts, run inside a namespace.
 *
 *   conn-rate server PORT             accept and close, forever
 *   conn-rate http PORT               a minimal keep-alive HTTP/1.1 responder
 *                                     (thread per connection) for wrk
 *   conn-rate client ADDR PORT RATE SECONDS
 *                                     RATE connect()+close() per second, paced
 *                                     in 1 ms slots; prints "done N FAILED"
 *   conn-rate bpf-prog-names ID...    "ID NAME" of each BPF program ID (the
 *                                     bench reads run times from its own fds'
 *                                     fdinfo, which carries no names)
 *   conn-rate bpf-stats-floor         what kernel.bpf_stats_enabled itself adds
 *                                     to each program run's run_time_ns: the
 *                                     ns/run it records for a program that
 *                                     does nothing (BPF_PROG_TEST_RUN)
 *
 * The server closes first, so TIME_WAIT stays on the server side and the
 * client never runs out of ephemeral ports. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int server(int port) {
	int s = socket(AF_INET6, SOCK_STREAM, 0), one = 1, zero = 0;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any};
	if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 4096)) {
		perror("bind/listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c >= 0) close(c);
	}
}

static void *http_conn(void *arg) {
	int c = (int)(long)arg;
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	char buf[4096];
	/* wrk sends one small GET at a time per connection: one read, one answer. */
	while (read(c, buf, sizeof buf) > 0)
		if (write(c, resp, sizeof resp - 1) < 0) break;
	close(c);
	return NULL;
}

static int http(int port) {
	int s = socket(AF_INET6, SOCK_STREAM, 0), one = 1, zero = 0;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any};
	if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 128)) {
		perror("bind/listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		pthread_t t;
		if (c >= 0 && pthread_create(&t, NULL, http_conn, (void *)(long)c) == 0) pthread_detach(t);
	}
}

static int client(const char *addr, int port, int rate, double seconds) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
		fprintf(stderr, "bad address %s\n", addr);
		return 1;
	}
	long total = (long)(rate * seconds), done = 0, failed = 0;
	double start = now_s();
	char buf[16];
	while (done < total) {
		/* Pace: the connections due by now, at most a few ms ahead. */
		long due = (long)((now_s() - start) * rate) + 1;
		if (done >= due) {
			usleep(500);
			continue;
		}
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
			/* Wait for the server's FIN (read returns 0), then close. */
			while (read(s, buf, sizeof buf) > 0) {
			}
		} else {
			failed++;
		}
		close(s);
		done++;
	}
	printf("done %ld %ld %.3f\n", done, failed, now_s() - start);
	return 0;
}

static long bpf(int cmd, union bpf_attr *attr) {
	return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

/* Needs stats enabled by the caller. The program is "r0 = 0; exit", so its
 * recorded run time is the two clock reads and the bookkeeping around it. */
static int bpf_stats_floor(void) {
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr load = {.prog_type = BPF_PROG_TYPE_SOCKET_FILTER, .insn_cnt = 2,
			       .insns = (unsigned long)insns, .license = (unsigned long)"GPL"};
	int fd = bpf(BPF_PROG_LOAD, &load);
	if (fd < 0) {
		perror("BPF_PROG_LOAD");
		return 1;
	}
	unsigned char pkt[64] = {0};
	union bpf_attr run = {.test = {.prog_fd = fd, .data_in = (unsigned long)pkt, .data_size_in = sizeof pkt,
				       .repeat = 1000000}};
	if (bpf(BPF_PROG_TEST_RUN, &run)) {
		perror("BPF_PROG_TEST_RUN");
		return 1;
	}
	struct bpf_prog_info info = {0};
	union bpf_attr get = {.info = {.bpf_fd = fd, .info_len = sizeof info, .info = (unsigned long)&info}};
	if (bpf(BPF_OBJ_GET_INFO_BY_FD, &get)) {
		perror("BPF_OBJ_GET_INFO_BY_FD");
		return 1;
	}
	if (!info.run_cnt) {
		fprintf(stderr, "no run count: kernel.bpf_stats_enabled is 0\n");
		return 1;
	}
	printf("%.1f\n", (double)info.run_time_ns / info.run_cnt);
	return 0;
}

static int bpf_prog_names(int n, char **ids) {
	for (int i = 0; i < n; i++) {
		union bpf_attr byid = {.prog_id = (unsigned)atoi(ids[i])};
		int fd = bpf(BPF_PROG_GET_FD_BY_ID, &byid);
		if (fd < 0) {
			perror(ids[i]);
			return 1;
		}
		struct bpf_prog_info info = {0};
		union bpf_attr get = {.info = {.bpf_fd = fd, .info_len = sizeof info, .info = (unsigned long)&info}};
		if (bpf(BPF_OBJ_GET_INFO_BY_FD, &get)) {
			perror("BPF_OBJ_GET_INFO_BY_FD");
			return 1;
		}
		printf("%s %s\n", ids[i], info.name);
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc >= 3 && !strcmp(argv[1], "server")) return server(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "http")) return http(atoi(argv[2]));
	if (argc >= 6 && !strcmp(argv[1], "client")) return client(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
	if (argc >= 2 && !strcmp(argv[1], "bpf-stats-floor")) return bpf_stats_floor();
	if (argc >= 2 && !strcmp(argv[1], "bpf-prog-names")) return bpf_prog_names(argc - 2, argv + 2);
	fprintf(stderr, "usage: conn-rate server PORT | http PORT | client ADDR PORT RATE SECONDS | bpf-stats-floor | bpf-prog-names ID...\n");
	return 2;
}
