/* Connection-rate load for bench/datapath.bench.ts, run inside a namespace.
 *
 *   conn-rate server PORT             accept and close, forever
 *   conn-rate http PORT               a minimal keep-alive HTTP/1.1 responder
 *                                     (thread per connection) for wrk
 *   conn-rate client ADDR PORT RATE SECONDS
 *                                     RATE connect()+close() per second, paced
 *                                     in 1 ms slots; prints "done N FAILED"
 *
 * The server closes first, so TIME_WAIT stays on the server side and the
 * client never runs out of ephemeral ports. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int main(int argc, char **argv) {
	if (argc >= 3 && !strcmp(argv[1], "server")) return server(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "http")) return http(atoi(argv[2]));
	if (argc >= 6 && !strcmp(argv[1], "client")) return client(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: conn-rate server PORT | http PORT | client ADDR PORT RATE SECONDS\n");
	return 2;
}
