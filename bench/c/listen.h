/* Shared by the benchmark targets: listen on 127.0.0.1:port (0 = any free port), non-blocking, and announce
 * the bound port as "PORT n" on stdout for the orchestrator. Exits with a message naming `who` on failure. */
#ifndef WSTCP_BENCH_LISTEN_H
#define WSTCP_BENCH_LISTEN_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

static int listen_loopback(int port, const char *who) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 4096) != 0) {
    fprintf(stderr, "%s: ", who);
    perror("listen");
    exit(1);
  }
  socklen_t sl = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &sl);
  printf("PORT %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  return lfd;
}

#endif
