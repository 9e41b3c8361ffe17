/*
 * check_sdnotify - the notify datagram reaches a socket named by
 * $NOTIFY_SOCKET, a path or an abstract name ('@'); nothing is sent
 * without it; a name that cannot be one is refused.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

/* bind_dgram - a datagram socket bound at name (a path, or "@x") */
static int
bind_dgram(const char *name)
{
	struct sockaddr_un sun;
	size_t n = strlen(name);
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0),
	    -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (name[0] == '/'))), 0);
	return fd;
}

/* got - the one datagram waiting on fd, or "" */
static const char *
got(int fd)
{
	static char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

START_TEST(path_socket_gets_the_state)
{
	char dir[] = "/tmp/check_sdnotify.XXXXXX", path[128];
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bind_dgram(path);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(sdnotify_send("READY=1"), 0);
	ck_assert_str_eq(got(fd), "READY=1");
	ck_assert_int_eq(sdnotify_reloading(), 0);
	ck_assert_msg(strncmp(got(fd), "RELOADING=1\nMONOTONIC_USEC=", 27) == 0,
	    "reloading");
	ck_assert_str_eq(getenv("NOTIFY_SOCKET"), path);	/* left */
	close(fd);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(abstract_socket_gets_the_state)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@imc-check-sdnotify-%ld", (long)getpid());
	fd = bind_dgram(name);
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(sdnotify_send("STOPPING=1"), 0);
	ck_assert_str_eq(got(fd), "STOPPING=1");
	close(fd);
}
END_TEST

START_TEST(no_socket_no_datagram)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(sdnotify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	ck_assert_int_eq(sdnotify_send("READY=1"), 0);
}
END_TEST

static const char *const bad_names[] = {
	"relative/notify", "@", "/", "x",
	("/a/very/long/path/that/does/not/fit/into/sun_path/of/a/unix/socket/"
	    "address/because/that/holds/one/hundred/and/eight/bytes/only/x"),
};

START_TEST(unusable_names_are_refused)
{
	setenv("NOTIFY_SOCKET", bad_names[_i], 1);
	errno = 0;
	ck_assert_int_eq(sdnotify_send("READY=1"), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(nobody_listening_is_an_error)
{
	setenv("NOTIFY_SOCKET", "/tmp/check_sdnotify-nobody-here", 1);
	ck_assert_int_eq(sdnotify_send("READY=1"), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sdnotify");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, path_socket_gets_the_state);
	tcase_add_test(tc, abstract_socket_gets_the_state);
	tcase_add_test(tc, no_socket_no_datagram);
	tcase_add_loop_test(tc, unusable_names_are_refused, 0,
	    (int)(sizeof(bad_names) / sizeof(bad_names[0])));
	tcase_add_test(tc, nobody_listening_is_an_error);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
