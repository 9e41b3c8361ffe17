/*
 * layout - the Imcdata tree: which folders exist, their owners and modes.
 *
 * The table in layout.c is the one place that names the folders (LAYOUT.md
 * describes it for people). layout_create makes what is missing;
 * layout_check lists every drift from the table; layout_fix repairs what
 * can be repaired safely (missing folders, owners, modes) and leaves the
 * rest (symbolic links, files where folders belong, folders on another
 * filesystem) for a person. A drift marked "unsafe" stops the connector
 * from starting: a symbolic link anywhere in the tree, a world-writable
 * queue folder, a folder that is not a folder, and a queue folder on
 * another filesystem than Pickup (claims and commits must be renames).
 *
 * The tree is the root and the folders of the table. An existing root that
 * belongs to someone other than the service user and holds anything else
 * (it does not look like an Imcdata tree: a system or web folder named by
 * mistake) is reported as DRIFT_FOREIGN, and layout_fix leaves it exactly
 * as it is (no chown, no chmod, no folders made in it): the message says
 * what to run if the folder really is meant for the connector.
 */
#ifndef IMC_LAYOUT_H
#define IMC_LAYOUT_H

#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"
#include "config.h"

enum layout_dir {
	LAYOUT_ROOT,
	LAYOUT_PICKUP,
	LAYOUT_PICKUP_ARCHIVE,
	LAYOUT_WORK,
	LAYOUT_IN,
	LAYOUT_IN_ARCHIVE,
	LAYOUT_OUT,
	LAYOUT_OUT_ARCHIVE,
	LAYOUT_BADMAIL,
	LAYOUT_LOG,
	LAYOUT_STORE,
	LAYOUT_DROP,
	LAYOUT_NDIRS
};

enum layout_drift_kind {
	DRIFT_MISSING,
	DRIFT_NOT_DIR,
	DRIFT_SYMLINK,
	DRIFT_OWNER,
	DRIFT_MODE,
	DRIFT_WORLD_WRITABLE,
	DRIFT_OTHER_FS,
	DRIFT_ERROR,
	DRIFT_FOREIGN	/* the root is someone else's folder: left alone */
};

struct layout_drift {
	enum layout_drift_kind kind;
	bool	unsafe;
	char	*path;
	char	*message;	/* "Work: mode 0777, want 0700" */
};

struct layout_report {
	struct layout_drift *items;
	size_t	n;
};

struct layout_want {
	uid_t	uid;
	gid_t	service_gid;
	gid_t	writers_gid;
	gid_t	drop_gid;	/* Drop/'s group: drop_group, else service */
	bool	drop_readers;	/* a store = drop whose readers (drop_gid) are
				   not the writers: the root lets them pass
				   (0711) */
	enum pickup_mode pickup_mode;
};

/* Log/: the daemon's PID while it runs (for people and systemd; tools ask
 * the lock, instlock.h). */
#define LAYOUT_PID_FILE	"imc-connector.pid"

/* The folder's path relative to the root ("" for the root itself). */
const char *layout_name(enum layout_dir);
int	layout_want_from_config(const struct imc_config *, struct layout_want *,
	    struct buf *err);
mode_t	layout_mode(enum layout_dir, const struct layout_want *);
int	layout_create(const char *root, const struct layout_want *, struct buf *err);
/* deep: also walk every file of the tree for symbolic links (the tool); the
 * connector checks the folders only, at every start. */
int	layout_check(const char *root, const struct layout_want *, bool deep,
	    struct layout_report *);
int	layout_fix(const char *root, const struct layout_want *,
	    struct layout_report *remaining);
bool	layout_report_unsafe(const struct layout_report *);
void	layout_report_free(struct layout_report *);

#endif
