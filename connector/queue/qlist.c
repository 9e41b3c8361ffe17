/*
 * qlist - the queue ids in a folder (see qlist.h).
 */
#include "qlist.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

int
qlist_read(int dirfd, const char *suffix, struct qlist *l)
{
	DIR *dir;
	struct dirent *de;
	size_t sl = strlen(suffix);
	int fd;

	memset(l, 0, sizeof(*l));
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strlen(de->d_name) != QID_LEN + sl ||
		    strcmp(de->d_name + QID_LEN, suffix) != 0)
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 64;
			l->qids = xreallocarray(l->qids, l->cap, sizeof(*l->qids));
		}
		memcpy(l->qids[l->n], de->d_name, QID_LEN);
		l->qids[l->n][QID_LEN] = '\0';
		if (qid_valid(l->qids[l->n]))
			l->n++;
	}
	closedir(dir);
	return 0;
}

void
qlist_free(struct qlist *l)
{
	free(l->qids);
	memset(l, 0, sizeof(*l));
}
