// Package mailin takes customers' email into the desk. Admins configure mailboxes (IMAP to read,
// SMTP to send as, passwords sealed with HELPDESK_ENCRYPTION_KEY). A loop per mailbox fetches new
// messages by UID since its checkpoint, then waits on IDLE or polls, and reconnects with backoff.
//
// Every message is taken in exactly once: its dedupe row (the Message-ID, or a hash of the raw
// message), its ticket or message, attachments and the mailbox checkpoint commit in one
// transaction, and only after the commit is it flagged or moved on the server. A crash at any
// point leaves either nothing or everything, and the unique key makes the replay a no-op.
//
// Threading follows In-Reply-To and References against every Message-ID we took in or sent, then
// the subject token ([#1234]) when the sender belongs on that ticket. Auto-replies, bulk mail and
// bounces are told apart so that nothing acknowledges them. Mail that cannot be taken in goes to
// a quarantine, raw, with the reason, where admins can download and reprocess it.
package mailin
