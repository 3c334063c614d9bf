// load: the benchmark workload, at a fixed rate of audited events. Usage:
//   load RATE SECONDS   RATE events/s: one in ten, at most 200/s, a
//                       posix_spawn of /bin/true (one execve event; reaped
//                       by SIGCHLD=SIG_IGN), the rest connect()s of a new TCP
//                       socket to 127.0.0.1:9, where nothing listens (one
//                       connect event each, refused at once); paced every
//                       millisecond, spawns by one process, connects by one
//                       per 15,000/s.
//   load flood SECONDS [PROCS]  PROCS (default 3) processes connect() to
//                       127.0.0.1:9 as fast as they can.
// Prints "events=N seconds=S" (what it made, and the wall time it took).
#include <arpa/inet.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static struct sockaddr_in dst;
static void connect_once(void) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	connect(fd, (struct sockaddr *)&dst, sizeof dst);
	close(fd);
}

static void spawn_once(void) {
	char *argv[] = {"/bin/true", NULL};
	pid_t pid;
	posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
}

// paced makes rate events/s for secs seconds, one in every spawn_every a
// spawn (0: none), and returns how many it made.
static unsigned long paced(double rate, double secs, unsigned long spawn_every) {
	double start = now(), owed = 0;
	unsigned long events = 0;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (now() - start < secs) {
		for (owed += rate / 1000; owed >= 1; owed--, events++) {
			if (spawn_every && events % spawn_every == 0) spawn_once();
			else connect_once();
		}
		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) { next.tv_sec++; next.tv_nsec -= 1000000000; }
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	return events;
}

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: load RATE|flood SECONDS [PROCS]\n"); return 2; }
	double secs = atof(argv[2]), start = now();
	dst.sin_family = AF_INET;
	dst.sin_port = htons(9);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	unsigned long events = 0;
	if (strcmp(argv[1], "flood") == 0) {
		int procs = argc > 3 ? atoi(argv[3]) : 3;
		unsigned long *counts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		for (int i = 0; i < procs; i++) {
			if (fork() == 0) {
				unsigned long n = 0;
				while (now() - start < secs) {
					for (int k = 0; k < 100; k++) connect_once();
					n += 100;
				}
				counts[i] = n;
				_exit(0);
			}
		}
		for (int i = 0; i < procs; i++) wait(NULL);
		for (int i = 0; i < procs; i++) events += counts[i];
	} else {
		double rate = atof(argv[1]);
		// Process 0 spawns, the others connect.
		double spawns = rate / 10 < 200 ? rate / 10 : 200;
		int procs = 2 + (int)((rate - spawns) / 15000);
		unsigned long *counts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		for (int i = 0; i < procs; i++) {
			if (fork() == 0) {
				signal(SIGCHLD, SIG_IGN); // spawned children reap themselves
				counts[i] = i == 0 ? paced(spawns, secs, 1) : paced((rate - spawns) / (procs - 1), secs, 0);
				_exit(0);
			}
		}
		for (int i = 0; i < procs; i++) wait(NULL);
		for (int i = 0; i < procs; i++) events += counts[i];
	}
	printf("events=%lu seconds=%.3f\n", events, now() - start);
	return 0;
}
