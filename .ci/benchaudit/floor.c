// floor: the least a program can do with the audit stream. It registers as
// the audit PID over netlink, recv()s every record into one buffer and counts
// them; nothing else. .ci/bench-audit measures the other consumers against
// it. On SIGINT/SIGTERM it prints "records=N eoe=N enobufs=N" to stdout,
// releases the audit PID and exits.
//
// floor -m reads the multicast copy of every record instead (group
// AUDIT_NLGRP_READLOG, no audit PID): the benchmark counts with it the
// events every consumer was sent, its own load and everything else the host
// did meanwhile (an EOE record ends each syscall event).
#include <errno.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

// set_pid sends AUDIT_SET pid=pid (the kernel takes this socket's port id).
static int set_pid(int fd, unsigned pid) {
	struct { struct nlmsghdr h; struct audit_status s; } req;
	memset(&req, 0, sizeof req);
	req.h.nlmsg_len = sizeof req;
	req.h.nlmsg_type = AUDIT_SET;
	req.h.nlmsg_flags = NLM_F_REQUEST;
	req.s.mask = AUDIT_STATUS_PID;
	req.s.pid = pid;
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};
	return sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
	int multicast = argc > 1 && strcmp(argv[1], "-m") == 0;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (fd < 0) { perror("socket"); return 1; }
	int rcvbuf = 8 << 20, one = 1; // the same socket setup as aptsentinel
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
	struct sigaction sa = {.sa_handler = on_signal}; // no SA_RESTART: recv returns EINTR
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (multicast) {
		struct sockaddr_nl sa_nl = {.nl_family = AF_NETLINK, .nl_groups = 1 << (AUDIT_NLGRP_READLOG - 1)};
		if (bind(fd, (struct sockaddr *)&sa_nl, sizeof sa_nl) < 0) { perror("bind AUDIT_NLGRP_READLOG"); return 1; }
	} else if (set_pid(fd, getpid()) < 0) {
		perror("AUDIT_SET pid");
		return 1;
	}
	static char buf[65536];
	unsigned long records = 0, eoe = 0, enobufs = 0;
	while (!stop) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == ENOBUFS) enobufs++;
			else if (errno != EINTR) { perror("recv"); break; }
			continue;
		}
		if ((size_t)n < sizeof(struct nlmsghdr)) continue;
		const struct nlmsghdr *h = (const void *)buf;
		if (h->nlmsg_type < AUDIT_FIRST_USER_MSG) continue; // ACKs, control replies
		records++;
		if (h->nlmsg_type == AUDIT_EOE) eoe++;
	}
	if (!multicast) set_pid(fd, 0);
	printf("records=%lu eoe=%lu enobufs=%lu\n", records, eoe, enobufs);
	return 0;
}
