#!/usr/bin/python3
"""pickup_writer.py - Pickup writers that misbehave, for the intake tests.

  pause FILE SECONDS    write the header and half the body, pause, write
                        the rest ("END-OF-MESSAGE" last), close
  hold FILE SECONDS     create FILE, keep it open for writing that long
                        (writing a line a second), then finish and close
  grow FILE SIZE EXTRA  write a complete message of SIZE bytes, keep a
                        read-only descriptor, close the writing one; once
                        the file is claimed (the descriptor's path is in
                        Work/) reopen it through /proc/self/fd for writing
                        and append EXTRA bytes; prints "grew N" or
                        "reopen refused: ERR" or "never claimed"
Every wait is bounded.
"""
import os
import sys
import time

HEADER = b"From: writer@example.com\r\nTo: bob@example.com\r\nSubject: writer test\r\n\r\n"


def pause(path, secs):
    with open(path, "wb", buffering=0) as f:
        f.write(HEADER + b"first half of the body\r\n")
        time.sleep(secs)
        f.write(b"second half\r\nEND-OF-MESSAGE\r\n")


def hold(path, secs):
    with open(path, "wb", buffering=0) as f:
        f.write(HEADER)
        end = time.time() + secs
        while time.time() < end:
            f.write(b"a line while held open\r\n")
            time.sleep(min(1.0, max(0.0, end - time.time())))
        f.write(b"END-OF-MESSAGE\r\n")


def grow(path, size, extra):
    line = b"x" * 76 + b"\r\n"
    body = HEADER
    while len(body) + len(line) < size - 20:
        body += line
    body += b"END-OF-MESSAGE\r\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    ro = os.open(path, os.O_RDONLY)
    os.write(fd, body)
    os.close(fd)          # the close-write event: the connector claims it
    end = time.time() + 10
    while time.time() < end:
        try:
            where = os.readlink("/proc/self/fd/%d" % ro)
        except OSError:
            where = ""
        if "/Work/" in where:
            break
    else:
        print("never claimed")
        return
    try:
        w = os.open("/proc/self/fd/%d" % ro, os.O_WRONLY | os.O_APPEND)
    except OSError as e:
        print("reopen refused: %s" % e.strerror)
        return
    # a sparse extension is one system call: it lands while the
    # connector is still reading
    os.ftruncate(w, os.fstat(w).st_size + extra)
    os.close(w)
    print("grew %d" % extra)


def main():
    mode = sys.argv[1]
    if mode == "pause":
        pause(sys.argv[2], float(sys.argv[3]))
    elif mode == "hold":
        hold(sys.argv[2], float(sys.argv[3]))
    elif mode == "grow":
        grow(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
