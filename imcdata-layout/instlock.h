/*
 * instlock - one connector per Imcdata tree.
 *
 * Every process that changes queue state (the daemon, an --once run)
 * holds an exclusive lock on Log/imc-connector.lock for as long as it
 * runs; a second one is refused (the caller exits 75, EX_TEMPFAIL, naming
 * the holder). The lock is a POSIX record lock, so the kernel drops it
 * when the holder dies, however it dies, and F_GETLK names the holder's
 * PID. The file is never removed: removing it would let a late opener
 * lock an unlinked inode beside a new file. It holds the holder's PID as
 * text, for people; tools ask the kernel, not the text.
 *
 * The lock belongs to the process: closing any other descriptor of the
 * file would drop it, so nothing else in the process may open it.
 */
#ifndef IMC_INSTLOCK_H
#define IMC_INSTLOCK_H

#include <sys/types.h>

#define INSTLOCK_FILE	"imc-connector.lock"	/* in Log/ */

/* Take the lock (log_dirfd: Log/). Returns the descriptor to keep open,
 * or -1: errno EWOULDBLOCK with *holder the PID that has it (0 when the
 * kernel cannot say), or another errno. */
int	instlock_acquire(int log_dirfd, pid_t *holder);
/* The PID holding the lock, 0 when nobody does, -1 on error. Only for
 * other processes: it opens and closes the file, which in the holder
 * would drop its own lock. */
pid_t	instlock_holder(int log_dirfd);

#endif
