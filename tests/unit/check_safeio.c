/*
 * check_safeio - common/safeio.c: the atomic replace that queue state,
 * request and reason files rely on.
 *
 * Two processes replacing the same name at once must each publish a whole
 * file (issue 8: imc-queue and the daemon shared one temp name opened with
 * O_TRUNC, so one could rename the other's half-written file into place).
 * A reader checks every version it sees is one writer's whole content.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safeio.h"

#define ROUNDS		3000
#define BIG		(64 * 1024)

static char tmpdir[] = "/tmp/check_safeio.XXXXXX";

static void
make_content(char *buf, size_t len, char fill)
{
	memset(buf, fill, len - 1);
	buf[len - 1] = '\n';
}

/* A whole version: all one byte, the right length, a final newline. */
static int
version_whole(const char *data, size_t len)
{
	size_t i;

	if (len != BIG && len != BIG / 2)
		return 0;
	for (i = 0; i + 1 < len; i++)
		if (data[i] != data[0])
			return 0;
	return data[len - 1] == '\n';
}

static void
writer(int dirfd, char fill, size_t len)
{
	char *buf = malloc(BIG);
	int i;

	if (buf == NULL)
		_exit(2);
	make_content(buf, len, fill);
	for (i = 0; i < ROUNDS; i++)
		if (safe_atomic_write(dirfd, "state", buf, len, 0600, 0) == -1)
			_exit(3);
	_exit(0);
}

START_TEST(two_writers_never_publish_a_mixed_file)
{
	char *got = malloc(BIG + 1);
	pid_t a, b;
	int dirfd, fd, st, torn = 0, seen = 0, i;
	ssize_t n;

	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ne(dirfd, -1);
	make_content(got, BIG, 'x');
	ck_assert_int_eq(safe_atomic_write(dirfd, "state", got, BIG, 0600, 0), 0);
	if ((a = fork()) == 0)
		writer(dirfd, 'a', BIG);
	if ((b = fork()) == 0)
		writer(dirfd, 'b', BIG / 2);
	for (i = 0; i < 200000; i++) {
		if ((fd = openat(dirfd, "state", O_RDONLY)) == -1)
			continue;
		n = read(fd, got, BIG + 1);
		close(fd);
		seen++;
		if (n < 0 || !version_whole(got, (size_t)n))
			torn++;
		if (waitpid(a, &st, WNOHANG) == a) {
			a = -1;
			if (b == -1)
				break;
		}
		if (b != -1 && waitpid(b, &st, WNOHANG) == b) {
			b = -1;
			if (a == -1)
				break;
		}
	}
	if (a != -1)
		waitpid(a, &st, 0);
	if (b != -1)
		waitpid(b, &st, 0);
	ck_assert_msg(torn == 0, "%d of %d versions read were not one writer's "
	    "whole file", torn, seen);
	/* the last version is whole, and no temp file is left over */
	fd = openat(dirfd, "state", O_RDONLY);
	n = read(fd, got, BIG + 1);
	close(fd);
	ck_assert(version_whole(got, (size_t)n));
	{
		DIR *dh = fdopendir(dup(dirfd));
		struct dirent *de;
		int names = 0;

		ck_assert_ptr_nonnull(dh);
		while ((de = readdir(dh)) != NULL)
			if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
				names++;
		closedir(dh);
		ck_assert_int_eq(names, 1);
	}
	unlinkat(dirfd, "state", 0);
	close(dirfd);
	rmdir(tmpdir);
	free(got);
}
END_TEST

/* A temp name someone else made (a symbolic link, a FIFO) is never used:
 * each write picks a fresh unique name with O_EXCL. */
START_TEST(a_planted_temp_name_is_not_followed)
{
	char dir[] = "/tmp/check_safeio2.XXXXXX", path[256];
	int dirfd, fd;
	char buf[8];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ne(dirfd, -1);
	/* the old fixed temp name, planted as a link to a victim file */
	snprintf(path, sizeof(path), "%s/victim", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	ck_assert_int_eq(symlinkat("victim", dirfd, ".state.tmp"), 0);
	ck_assert_int_eq(safe_atomic_write(dirfd, "state", "new\n", 4, 0600, 1),
	    0);
	fd = openat(dirfd, "victim", O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	ck_assert(memcmp(buf, "keep", 4) == 0);
	fd = openat(dirfd, "state", O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	ck_assert(memcmp(buf, "new\n", 4) == 0);
	unlinkat(dirfd, "state", 0);
	unlinkat(dirfd, "victim", 0);
	unlinkat(dirfd, ".state.tmp", 0);
	close(dirfd);
	rmdir(dir);
}
END_TEST

static Suite *
safeio_suite(void)
{
	Suite *s = suite_create("safeio");
	TCase *tc = tcase_create("atomic_write");

	/* two writers syncing 3,000 versions each: slow under ASan on a busy
	 * machine */
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, two_writers_never_publish_a_mixed_file);
	tcase_add_test(tc, a_planted_temp_name_is_not_followed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(safeio_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
