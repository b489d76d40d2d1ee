//! Where a reader listens, from reader.conf's DEVICENAME (or CHANNELID).
//!
//! Like vpcd, `DEVICENAME /dev/null:PORT` means server mode: the driver listens on
//! 127.0.0.1:PORT and the virtual card (the farm) connects to it. quorum adds an
//! optional third field for the keypad control channel: `/dev/null:PORT:CONTROLPORT`;
//! without it the control channel listens on PORT + 1000.

use std::fmt;

/// What the control port is when DEVICENAME does not name one.
pub const CONTROL_PORT_OFFSET: u16 = 1000;

/// The two TCP ports of one pinpad reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// Where the card farm connects, speaking vpcd frames.
    pub card: u16,
    /// Where tests queue key presses and read the display.
    pub control: u16,
}

/// Why a DEVICENAME or CHANNELID cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNameError(String);

impl fmt::Display for DeviceNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Ports {
    /// Parses `/dev/null:PORT` or `/dev/null:PORT:CONTROLPORT`.
    pub fn from_device_name(name: &str) -> Result<Ports, DeviceNameError> {
        let usage = "use DEVICENAME /dev/null:PORT or /dev/null:PORT:CONTROLPORT \
                     (server mode: the card farm connects to 127.0.0.1:PORT)";
        let mut fields = name.trim().split(':');
        let host = fields.next().unwrap_or_default();
        if host != "/dev/null" {
            return Err(DeviceNameError(format!(
                "DEVICENAME {name:?}: only server mode is supported; {usage}"
            )));
        }
        let card = match fields.next() {
            Some(p) => parse_port(p, "PORT", name)?,
            None => {
                return Err(DeviceNameError(format!(
                    "DEVICENAME {name:?} names no port; {usage}"
                )))
            }
        };
        let control = match fields.next() {
            Some(p) => parse_port(p, "CONTROLPORT", name)?,
            None => default_control(card, name)?,
        };
        if fields.next().is_some() {
            return Err(DeviceNameError(format!(
                "DEVICENAME {name:?} has too many ':' fields; {usage}"
            )));
        }
        if control == card {
            return Err(DeviceNameError(format!(
                "DEVICENAME {name:?}: the card and control ports must differ"
            )));
        }
        Ok(Ports { card, control })
    }

    /// Uses CHANNELID as the card port (reader.conf without DEVICENAME).
    pub fn from_channel(channel: u64) -> Result<Ports, DeviceNameError> {
        let card = u16::try_from(channel)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                DeviceNameError(format!("CHANNELID {channel} is not a TCP port 1..65535"))
            })?;
        let control = default_control(card, &format!("CHANNELID {channel}"))?;
        Ok(Ports { card, control })
    }
}

fn parse_port(text: &str, what: &str, name: &str) -> Result<u16, DeviceNameError> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            DeviceNameError(format!(
                "DEVICENAME {name:?}: {what} {text:?} is not a TCP port 1..65535"
            ))
        })
}

fn default_control(card: u16, name: &str) -> Result<u16, DeviceNameError> {
    card.checked_add(CONTROL_PORT_OFFSET).ok_or_else(|| {
        DeviceNameError(format!(
            "{name}: port {card} + {CONTROL_PORT_OFFSET} for the control channel exceeds 65535; \
             name the control port: /dev/null:PORT:CONTROLPORT"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_control_port_defaults_to_the_card_port_plus_1000() {
        assert_eq!(
            Ports::from_device_name("/dev/null:36108"),
            Ok(Ports {
                card: 36108,
                control: 37108
            })
        );
    }

    #[test]
    fn an_explicit_control_port_is_used() {
        assert_eq!(
            Ports::from_device_name("/dev/null:36108:40000"),
            Ok(Ports {
                card: 36108,
                control: 40000
            })
        );
    }

    #[test]
    fn client_mode_and_bad_ports_are_refused_with_the_expected_form() {
        for bad in [
            "localhost:35963",
            "/dev/null",
            "/dev/null:0",
            "/dev/null:70000",
            "/dev/null:12x",
            "/dev/null:1:2:3",
            "/dev/null:5000:5000",
            "/dev/null:65000",
        ] {
            let err = Ports::from_device_name(bad).expect_err(bad);
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn a_channel_id_is_the_card_port() {
        assert_eq!(
            Ports::from_channel(35990),
            Ok(Ports {
                card: 35990,
                control: 36990
            })
        );
        assert!(Ports::from_channel(0).is_err());
        assert!(Ports::from_channel(1 << 20).is_err());
    }
}
