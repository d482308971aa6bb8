#!/bin/sh
# Starts Xtigervnc on display :1 (RFB port 5900) with VNC password authentication, then a window
# manager and a terminal. The container lives as long as the X server does.
set -eu

: "${VNC_PASSWORD:?set VNC_PASSWORD (the password the viewer will ask for)}"
geometry="${VNC_GEOMETRY:-1280x800}"
name="${VNC_DESKTOP_NAME:-wstcp demo desktop}"

mkdir -p "$HOME/.vnc"
umask 077
printf '%s\n' "$VNC_PASSWORD" | tigervncpasswd -f > "$HOME/.vnc/passwd"
umask 022

Xtigervnc :1 -rfbport 5900 -nolisten tcp -geometry "$geometry" -depth 24 -AlwaysShared \
  -desktop "$name" -SecurityTypes VncAuth -PasswordFile "$HOME/.vnc/passwd" &
xpid=$!

export DISPLAY=:1
tries=0
until [ -S /tmp/.X11-unix/X1 ]; do
  tries=$((tries + 1))
  if [ "$tries" -gt 100 ] || ! kill -0 "$xpid" 2>/dev/null; then
    echo "start-desktop: Xtigervnc did not start" >&2
    exit 1
  fi
  sleep 0.1
done

xsetroot -solid '#2e3440'
twm &
xterm -geometry 100x30+40+40 &

wait "$xpid"
