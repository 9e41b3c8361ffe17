/*
 * smtpd_cmd - the listener's command parser: one command line in, a verb
 * and its checked arguments out. No I/O and no state: the session
 * (smtpd.c) decides what a command means now.
 *
 * smtpd_cmd_parse splits a line (without its CRLF) into a verb and the
 * rest. smtpd_parse_mail and smtpd_parse_rcpt read "FROM:<path> params"
 * and "TO:<path> params" strictly as RFC 5321 writes them (a space after
 * the colon is tolerated, angle brackets are required): a dot-string or
 * quoted local part, a domain name or an address literal, a source route
 * ("@a,@b:user@c") skipped as RFC 5321 4.1.2 asks, and the ESMTP
 * parameters the listener offers (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH
 * at MAIL; NOTIFY, ORCPT at RCPT). A domain with a trailing dot, an
 * address longer than IMC_MAX_ADDRESS, an unknown or repeated parameter,
 * 8-bit bytes without SMTPUTF8 are refused with the reply to give. The
 * address comes back in canonical form (quotes only where needed, as
 * addr.h writes it); "" is the null sender (MAIL only). What the local
 * part holds ("%", "!", a quoted "@") is not interpreted: only the domain
 * after the last unquoted "@" decides where mail goes (smtpd_policy.h).
 *
 * smtpd_parse_bdat reads BDAT's chunk size and LAST (RFC 3030).
 *
 * Results are the caller's to free (smtpd_mail_free, smtpd_rcpt_free).
 */
#ifndef IMC_SMTPD_CMD_H
#define IMC_SMTPD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtpd_verb {
	SMTPD_UNKNOWN, SMTPD_HELO, SMTPD_EHLO, SMTPD_MAIL, SMTPD_RCPT,
	SMTPD_DATA, SMTPD_RSET, SMTPD_NOOP, SMTPD_QUIT, SMTPD_VRFY,
	SMTPD_EXPN, SMTPD_HELP, SMTPD_STARTTLS, SMTPD_AUTH, SMTPD_BDAT
};

struct smtpd_cmd {
	enum smtpd_verb	 verb;
	const char	*arg;		/* after the verb and its spaces */
	size_t		 arg_len;
};

/* A reply for a refused command: "501", "5.5.4", text. */
struct smtpd_reply {
	int		 code;
	const char	*dsn;
	const char	*text;
};

enum smtpd_body { SMTPD_BODY_7BIT, SMTPD_BODY_8BITMIME };

struct smtpd_mail {
	char		*addr;		/* "" null sender */
	uint64_t	 size;		/* SIZE=, 0: not given */
	enum smtpd_body	 body;
	bool		 smtputf8;
	char		*ret;		/* "FULL" / "HDRS", or NULL */
	char		*envid;		/* xtext as given, or NULL */
};

struct smtpd_rcpt {
	char		*addr;
	char		*notify;	/* upper case as given, or NULL */
	char		*orcpt;		/* "rfc822;a@b" xtext, or NULL */
};

void	smtpd_cmd_parse(const char *line, size_t len, struct smtpd_cmd *);
const char *smtpd_verb_name(enum smtpd_verb);
/* 0, or -1 with the reply in *r. max_size: SIZE above it is refused. */
int	smtpd_parse_mail(const char *arg, size_t len, uint64_t max_size,
	    struct smtpd_mail *, struct smtpd_reply *r);
/* smtputf8: the transaction's MAIL said SMTPUTF8 (8-bit addresses). */
int	smtpd_parse_rcpt(const char *arg, size_t len, bool smtputf8,
	    struct smtpd_rcpt *, struct smtpd_reply *r);
void	smtpd_mail_free(struct smtpd_mail *);
void	smtpd_rcpt_free(struct smtpd_rcpt *);
/* BDAT's argument: "chunk-size [LAST]"; 0, or -1 (a syntax error: the
 * chunk's length is unknown, so the session cannot go on). */
int	smtpd_parse_bdat(const char *arg, size_t len, uint64_t *size,
	    bool *last);
/* The EHLO/HELO argument: a domain or address literal, printable
 * ASCII; 0 or -1 (501). */
int	smtpd_check_helo(const char *arg, size_t len);

#endif
