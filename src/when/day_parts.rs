//! Day parts (morning, lunch, afternoon, evening): their windows (§6), the
//! broad ranges a stated clock time must fall in (C6), and the meridiem they
//! imply (§4.3).

use jiff::civil::Time;

use super::clock::Meridiem;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DayPart {
    Morning,
    Lunch,
    Afternoon,
    Evening,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Modifier {
    Early,
    Late,
}

impl DayPart {
    /// Early/late only split the parts that have a middle.
    pub(super) fn takes_modifier(self) -> bool {
        self != DayPart::Lunch
    }

    /// The window on any date: early is start–mid, late is mid–end.
    pub(super) fn window(self, modifier: Option<Modifier>) -> (Time, Time) {
        let at = |hour, minute| Time::constant(hour, minute, 0, 0);
        let (start, middle, end) = match self {
            DayPart::Morning => (at(9, 0), Some(at(10, 30)), at(12, 0)),
            DayPart::Lunch => (at(12, 0), None, at(13, 0)),
            DayPart::Afternoon => (at(13, 0), Some(at(15, 0)), at(17, 0)),
            DayPart::Evening => (at(18, 0), Some(at(19, 0)), at(20, 0)),
        };
        match (modifier, middle) {
            (Some(Modifier::Early), Some(middle)) => (start, middle),
            (Some(Modifier::Late), Some(middle)) => (middle, end),
            _ => (start, end),
        }
    }

    /// Whether a stated time fits this part (C6); wider than the window so
    /// that "this evening at 9" passes but "this evening at 10am" does not.
    pub(super) fn admits(self, time: Time) -> bool {
        let hours = match self {
            DayPart::Morning => 5..12,
            DayPart::Lunch => 11..14,
            DayPart::Afternoon => 12..18,
            DayPart::Evening => 17..24,
        };
        hours.contains(&time.hour())
    }

    /// How a bare 1–12 hour is read next to this part.
    pub(super) fn meridiem(self) -> Meridiem {
        match self {
            DayPart::Morning => Meridiem::Am,
            DayPart::Lunch | DayPart::Afternoon | DayPart::Evening => Meridiem::Pm,
        }
    }
}
