//! Header values from config and templates. Caller text only ever reaches
//! a header as a display name or a subject, after control characters are
//! gone; addresses come from the config, or are refused unless they are
//! exactly one valid address.

use lettre::Address;
use lettre::message::{Mailbox, Mailboxes};

/// Text for a header: CR, LF, tabs and other control characters become
/// spaces (so nothing can start a new header line), runs of white space
/// fold to one, the ends are trimmed.
pub fn header_text(text: &str) -> String {
    text.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One mailbox from the config: `Name <address>` or `address`; a list is
/// refused, so one entry is always one recipient.
pub fn config_mailbox(text: &str) -> Result<Mailbox, String> {
    let count = text
        .parse::<Mailboxes>()
        .map(|list| list.iter().count())
        .map_err(|e| format!("`{text}` is not an email address ({e})"))?;
    if count != 1 {
        return Err(format!("`{text}` holds {count} addresses: give one per entry"));
    }
    text.parse::<Mailbox>()
        .map_err(|e| format!("`{text}` is not an email address ({e})"))
}

/// A rendered address (e.g. the caller's, for Reply-To): the whole text
/// must be one bare address, else there is none.
pub fn rendered_address(text: &str) -> Option<Address> {
    text.trim().parse::<Address>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_start_a_header_line() {
        assert_eq!(
            header_text("Bob\r\nBcc: victim@example.com\t x"),
            "Bob Bcc: victim@example.com x"
        );
        assert_eq!(header_text("  Zoë \u{0}\u{7f} "), "Zoë");
    }

    #[test]
    fn config_addresses_are_one_mailbox_each() {
        let office = config_mailbox("Office <office@example.com>").unwrap();
        assert_eq!(office.email.to_string(), "office@example.com");
        assert_eq!(office.name.as_deref(), Some("Office"));
        assert!(config_mailbox("a@example.com, b@example.com").is_err());
        assert!(config_mailbox("not an address").is_err());
    }

    #[test]
    fn rendered_addresses_must_be_exactly_one_address() {
        assert_eq!(
            rendered_address(" zoe@example.com ").map(|a| a.to_string()),
            Some("zoe@example.com".to_owned())
        );
        for bad in [
            "",
            "zoe@example.com, evil@example.net",
            "Zoë <zoe@example.com>",
            "zoe@exa mple.com",
        ] {
            assert_eq!(rendered_address(bad), None, "{bad}");
        }
    }
}
