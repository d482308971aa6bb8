/*
 * source_target: a single-threaded epoll TCP server that floods every connection with bytes, for the
 * wstcp benchmark's target->client figure.
 *
 *   source_target [PORT]    (0 or nothing: an ephemeral port; the port is printed as "PORT n")
 *
 * Listens on 127.0.0.1 only. Writes 64 KiB chunks whenever the socket is writable and discards what
 * the peer sends; a connection ends when the peer closes or resets it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

#define CHUNK (64 * 1024)
#define MAX_EVENTS 256

static unsigned char chunk[CHUNK];
static unsigned char sink[CHUNK];

static void on_event(int epfd, int fd, unsigned events) {
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    for (int i = 0; i < 16; i++) {
      ssize_t r = recv(fd, sink, sizeof sink, 0);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        return;
      }
      if (r < 0) break;
    }
  }
  if (events & EPOLLOUT) {
    for (int i = 0; i < 64; i++) {
      ssize_t w = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        return;
      }
    }
  }
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < CHUNK; i++) chunk[i] = (unsigned char)(i * 131 + 17);
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int lfd = listen_loopback(port, "source_target");
  int epfd = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
  struct epoll_event evs[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (cfd < 0) break;
          struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = cfd};
          epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ev);
        }
        continue;
      }
      on_event(epfd, fd, evs[i].events);
    }
  }
}
