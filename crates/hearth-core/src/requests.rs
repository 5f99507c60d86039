//! Privacy requests: what a person may ask (know, access, delete, correct, opt out of sale
//! and sharing, limit the use of sensitive data), how a request moves from received to
//! completed or denied, and when each step is due under the law the community answers to.
//!
//! Deadlines follow a law profile chosen per community, CCPA by default (Cal. Code Regs.
//! tit. 11, §7021: confirm within 10 business days, answer within 45 calendar days of receipt,
//! one extension of up to 45 more days; §7026(f), §7027(g): opt-out and limit within 15
//! business days). Business days skip Saturdays, Sundays and the holidays the operator lists.
//! Deadlines are dates: a step due on a date is on time all that day.

use time::{Date, Duration, Month, Weekday};

/// What a person asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// The categories of personal information held, their sources, purposes and recipients.
    Know,
    /// A copy of the personal information itself (access, portability).
    Access,
    /// Deletion.
    Delete,
    /// Correction of inaccurate information.
    Correct,
    /// Opt out of the sale and sharing of personal information.
    OptOut,
    /// Limit the use of sensitive personal information.
    Limit,
}

impl RequestKind {
    /// Every kind, in the order pages list them.
    pub const ALL: [RequestKind; 6] = [
        RequestKind::Know,
        RequestKind::Access,
        RequestKind::Delete,
        RequestKind::Correct,
        RequestKind::OptOut,
        RequestKind::Limit,
    ];

    /// The stable code stored and used in the API.
    pub fn code(self) -> &'static str {
        match self {
            RequestKind::Know => "know",
            RequestKind::Access => "access",
            RequestKind::Delete => "delete",
            RequestKind::Correct => "correct",
            RequestKind::OptOut => "opt_out",
            RequestKind::Limit => "limit",
        }
    }

    /// The kind a code names.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Whether the requester's identity must be verified first. Opt-out and limit requests
    /// need none (Reg. §7026(d), §7027(e)): anyone may stop a sale.
    pub fn needs_verification(self) -> bool {
        !matches!(self, RequestKind::OptOut | RequestKind::Limit)
    }

    /// Whether the answer is on the short clock of opt-outs (15 business days, no
    /// confirmation of receipt) rather than the 45-day one.
    fn is_opt_out_like(self) -> bool {
        matches!(self, RequestKind::OptOut | RequestKind::Limit)
    }

    /// Whether the law caps how often it may be asked for free (requests to know).
    fn is_disclosure(self) -> bool {
        matches!(self, RequestKind::Know | RequestKind::Access)
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestState {
    /// Received; the requester's identity is not yet verified.
    Received,
    /// The requester is who they say (or the kind needs no verification).
    Verified,
    /// Being carried out (an export being built, an erasure running, an admin deciding).
    InProgress,
    /// Its deadline was extended, once, with a reason and a notice to the requester.
    Extended,
    /// Done, in whole or in part.
    Completed,
    /// Refused, for a reason from [`DenialReason`].
    Denied,
}

impl RequestState {
    /// The stable code stored.
    pub fn code(self) -> &'static str {
        match self {
            RequestState::Received => "received",
            RequestState::Verified => "verified",
            RequestState::InProgress => "in_progress",
            RequestState::Extended => "extended",
            RequestState::Completed => "completed",
            RequestState::Denied => "denied",
        }
    }

    /// The state a code names.
    pub fn parse(code: &str) -> Option<Self> {
        [
            RequestState::Received,
            RequestState::Verified,
            RequestState::InProgress,
            RequestState::Extended,
            RequestState::Completed,
            RequestState::Denied,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }

    /// Whether the request is closed.
    pub fn is_closed(self) -> bool {
        matches!(self, RequestState::Completed | RequestState::Denied)
    }
}

/// Why a request was refused: a closed list, each with the words the requester reads
/// (Reg. §7022(f), §7023(f), §7024, §7027(f); Civ. 1798.105(d), 1798.145).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenialReason {
    /// Identity could not be verified (a request to know falls back to the categories).
    CannotVerify,
    /// An exception the law allows applies to the information (deletion).
    LegalException,
    /// Answering would take impossible or disproportionate effort (with the facts why).
    DisproportionateEffort,
    /// More requests to know than the law requires answering in twelve months.
    TooFrequent,
    /// The information is more likely than not accurate (correction).
    LikelyAccurate,
    /// A documented, good-faith belief that the request is fraudulent (opt-out, limit).
    Fraudulent,
    /// No personal information of the requester is held.
    NothingHeld,
}

impl DenialReason {
    /// Every reason.
    pub const ALL: [DenialReason; 7] = [
        DenialReason::CannotVerify,
        DenialReason::LegalException,
        DenialReason::DisproportionateEffort,
        DenialReason::TooFrequent,
        DenialReason::LikelyAccurate,
        DenialReason::Fraudulent,
        DenialReason::NothingHeld,
    ];

    /// The stable code stored.
    pub fn code(self) -> &'static str {
        match self {
            DenialReason::CannotVerify => "cannot_verify",
            DenialReason::LegalException => "legal_exception",
            DenialReason::DisproportionateEffort => "disproportionate_effort",
            DenialReason::TooFrequent => "too_frequent",
            DenialReason::LikelyAccurate => "likely_accurate",
            DenialReason::Fraudulent => "fraudulent",
            DenialReason::NothingHeld => "nothing_held",
        }
    }

    /// The reason a code names.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the requester reads, in plain words.
    pub fn consumer_text(self) -> &'static str {
        match self {
            DenialReason::CannotVerify => {
                "We could not confirm that you are the person the information is about, so we \
                 cannot give or change specific information. We can tell you which kinds of \
                 information we hold and why; a request to know those is answered in full."
            }
            DenialReason::LegalException => {
                "The law lets us keep some of this information (for example, the record of \
                 your request itself). The answer lists what was kept and why; the rest was \
                 handled as you asked."
            }
            DenialReason::DisproportionateEffort => {
                "Answering would take effort out of all proportion to what it would tell you. \
                 The answer explains the facts behind that."
            }
            DenialReason::TooFrequent => {
                "The law asks us to answer this kind of request twice in twelve months; you \
                 have had both answers. You may ask again later."
            }
            DenialReason::LikelyAccurate => {
                "Having looked at what you sent and what we hold, we believe the information \
                 is more likely accurate than not, so we did not change it."
            }
            DenialReason::Fraudulent => {
                "We have a documented, good-faith reason to believe this request was not made \
                 by you or on your behalf."
            }
            DenialReason::NothingHeld => "We hold no personal information about you.",
        }
    }

    /// Whether the reason may be given for a request of `kind`.
    pub fn applies_to(self, kind: RequestKind) -> bool {
        match self {
            // Opt-outs and limits are never verified, so cannot fail verification; only a
            // documented fraud belief refuses them.
            DenialReason::Fraudulent => kind.is_opt_out_like(),
            DenialReason::CannotVerify => kind.needs_verification(),
            DenialReason::TooFrequent => kind.is_disclosure(),
            DenialReason::LikelyAccurate => kind == RequestKind::Correct,
            DenialReason::LegalException => {
                matches!(kind, RequestKind::Delete | RequestKind::Correct)
            }
            DenialReason::DisproportionateEffort | DenialReason::NothingHeld => {
                !kind.is_opt_out_like()
            }
        }
    }
}

/// A step in a request's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStep {
    /// The requester's identity was confirmed.
    Verify,
    /// Work on it began.
    Start,
    /// The deadline was extended (once, with a reason and a notice).
    Extend,
    /// It was carried out, in whole or in part.
    Complete,
    /// It was refused for this reason.
    Deny(DenialReason),
}

/// Why a step was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StepRefused {
    /// The request is closed: completed or denied.
    #[error("the request is closed")]
    Closed,
    /// A request to know, access, delete or correct must be verified first.
    #[error("the requester's identity must be verified first")]
    NotVerified,
    /// The deadline was extended already; the law allows once.
    #[error("the deadline was extended already, and may be only once")]
    ExtendedAlready,
    /// The law profile gives this kind of request no extension.
    #[error("this kind of request cannot be extended")]
    NoExtension,
    /// The reason does not fit the kind of request.
    #[error("that reason does not apply to this kind of request")]
    ReasonDoesNotApply,
    /// The step does nothing from here.
    #[error("the request is already at that step")]
    AlreadyThere,
}

/// A request as the state machine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    /// What was asked.
    pub kind: RequestKind,
    /// Where it stands.
    pub state: RequestState,
    /// Whether it was ever verified (kinds that need no verification count as verified).
    pub verified: bool,
    /// Whether its deadline was extended.
    pub extended: bool,
}

impl Lifecycle {
    /// A request just received.
    pub fn received(kind: RequestKind) -> Self {
        let verified = !kind.needs_verification();
        Self {
            kind,
            state: if verified {
                RequestState::Verified
            } else {
                RequestState::Received
            },
            verified,
            extended: false,
        }
    }

    /// The request after `step` under `law`, or why the step cannot be taken.
    pub fn after(self, step: RequestStep, law: LawProfile) -> Result<Lifecycle, StepRefused> {
        if self.state.is_closed() {
            return Err(StepRefused::Closed);
        }
        let mut next = self;
        match step {
            RequestStep::Verify => {
                if self.verified {
                    return Err(StepRefused::AlreadyThere);
                }
                next.verified = true;
                next.state = RequestState::Verified;
            }
            RequestStep::Start => {
                if !self.verified {
                    return Err(StepRefused::NotVerified);
                }
                if self.state == RequestState::InProgress {
                    return Err(StepRefused::AlreadyThere);
                }
                next.state = RequestState::InProgress;
            }
            RequestStep::Extend => {
                // An extension answers a verified request that needs more time; an
                // unverified one is confirmed or refused, never kept waiting longer.
                if !self.verified {
                    return Err(StepRefused::NotVerified);
                }
                if self.extended {
                    return Err(StepRefused::ExtendedAlready);
                }
                if law.rules(self.kind).extension.is_none() {
                    return Err(StepRefused::NoExtension);
                }
                next.extended = true;
                next.state = RequestState::Extended;
            }
            RequestStep::Complete => {
                if !self.verified {
                    return Err(StepRefused::NotVerified);
                }
                next.state = RequestState::Completed;
            }
            RequestStep::Deny(reason) => {
                if !reason.applies_to(self.kind) {
                    return Err(StepRefused::ReasonDoesNotApply);
                }
                next.state = RequestState::Denied;
            }
        }
        Ok(next)
    }
}

/// A span of time in a law's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Business days after receipt: weekdays that are not holidays.
    BusinessDays(u32),
    /// Calendar days after receipt.
    Days(u32),
    /// Calendar months after receipt: the same day of the month, or the month's last day
    /// when it has no such day (GDPR Art. 12(3), read with Reg. 1182/71).
    Months(u32),
}

/// What a law asks of one kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Confirm receipt within this, if the law asks for a confirmation.
    pub acknowledge: Option<Span>,
    /// Answer within this of receipt.
    pub respond: Span,
    /// One extension of this much more, if the law allows one.
    pub extension: Option<Span>,
    /// Whether the requester may appeal a refusal to the business.
    pub appeal: bool,
    /// Requests of this kind answered in twelve months before further ones may be refused
    /// as too frequent (`None`: no count).
    pub yearly_quota: Option<u32>,
}

/// The law a community answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LawProfile {
    /// California (CCPA as amended by the CPRA), the default.
    #[default]
    Ccpa,
    /// The EU and UK GDPR.
    Gdpr,
    /// Virginia (VCDPA).
    Virginia,
    /// Colorado (CPA).
    Colorado,
}

impl LawProfile {
    /// Every profile.
    pub const ALL: [LawProfile; 4] = [
        LawProfile::Ccpa,
        LawProfile::Gdpr,
        LawProfile::Virginia,
        LawProfile::Colorado,
    ];

    /// The stable code stored.
    pub fn code(self) -> &'static str {
        match self {
            LawProfile::Ccpa => "ccpa",
            LawProfile::Gdpr => "gdpr",
            LawProfile::Virginia => "virginia",
            LawProfile::Colorado => "colorado",
        }
    }

    /// The profile a code names.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// What the law asks of a request of `kind`.
    pub fn rules(self, kind: RequestKind) -> Rules {
        let quota = |n| kind.is_disclosure().then_some(n);
        match self {
            LawProfile::Ccpa if kind.is_opt_out_like() => Rules {
                acknowledge: None,
                respond: Span::BusinessDays(15),
                extension: None,
                appeal: false,
                yearly_quota: None,
            },
            LawProfile::Ccpa => Rules {
                acknowledge: Some(Span::BusinessDays(10)),
                respond: Span::Days(45),
                extension: Some(Span::Days(45)),
                appeal: false,
                // Civ. 1798.130(b): disclosures twice in twelve months.
                yearly_quota: quota(2),
            },
            // Art. 12(3): one month, extendable by two more where needed; an objection to
            // processing (the opt-out) is on the same clock.
            LawProfile::Gdpr => Rules {
                acknowledge: None,
                respond: Span::Months(1),
                extension: Some(Span::Months(2)),
                appeal: false,
                yearly_quota: None,
            },
            // Va. Code 59.1-577(B): 45 days, once extendable by 45; an appeal process; two
            // free answers a year (59.1-577(B)(4)).
            LawProfile::Virginia => Rules {
                acknowledge: None,
                respond: Span::Days(45),
                extension: Some(Span::Days(45)),
                appeal: true,
                yearly_quota: quota(2),
            },
            // Colo. Rev. Stat. 6-1-1306: 45 days, extendable by 45; an appeal process; one free
            // answer a year.
            LawProfile::Colorado => Rules {
                acknowledge: None,
                respond: Span::Days(45),
                extension: Some(Span::Days(45)),
                appeal: true,
                yearly_quota: quota(1),
            },
        }
    }

    /// When a request of `kind` received on `received` is due.
    pub fn deadlines(self, kind: RequestKind, received: Date, holidays: &Holidays) -> Deadlines {
        let rules = self.rules(kind);
        let respond_by = rules.respond.after(received, holidays);
        Deadlines {
            acknowledge_by: rules.acknowledge.map(|s| s.after(received, holidays)),
            respond_by,
            // The extension runs on from the first deadline (Reg. §7021(b): up to 45 more
            // days, 90 in all); months are counted from receipt (GDPR: three months in all,
            // so a request of 31 January is due by 30 April, not 28 April).
            extended_to: rules
                .extension
                .map(|extension| match (rules.respond, extension) {
                    (Span::Months(first), Span::Months(more)) => add_months(received, first + more),
                    _ => extension.after(respond_by, holidays),
                }),
        }
    }

    /// Whether a request of `kind` goes beyond the law's yearly quota, given how many of
    /// that kind the same person made in the twelve months before.
    pub fn beyond_quota(self, kind: RequestKind, in_last_twelve_months: u32) -> bool {
        self.rules(kind)
            .yearly_quota
            .is_some_and(|quota| in_last_twelve_months >= quota)
    }
}

/// When a request's steps are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Confirm receipt by this day, if the law asks for a confirmation.
    pub acknowledge_by: Option<Date>,
    /// Answer by this day.
    pub respond_by: Date,
    /// Answer by this day if the deadline was extended (when the law allows it).
    pub extended_to: Option<Date>,
}

impl Deadlines {
    /// The day the answer is due, with or without the extension.
    pub fn due(&self, extended: bool) -> Date {
        match (extended, self.extended_to) {
            (true, Some(to)) => to,
            _ => self.respond_by,
        }
    }
}

/// Days that are not business days besides weekends, as the operator lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holidays(Vec<Date>);

impl Holidays {
    /// The holidays given (in any order).
    pub fn new(mut days: Vec<Date>) -> Self {
        days.sort();
        days.dedup();
        Self(days)
    }

    /// The holidays written as `YYYY-MM-DD`; the first that is not such a date is the error.
    pub fn parse(days: &[String]) -> Result<Self, String> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        days.iter()
            .map(|day| Date::parse(day.trim(), &format).map_err(|_| day.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    /// Whether `day` is a business day: a weekday that is not a holiday.
    pub fn is_business_day(&self, day: Date) -> bool {
        !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
            && self.0.binary_search(&day).is_err()
    }
}

impl Span {
    /// The day this span after `from` ends (`from` itself not counted).
    pub fn after(self, from: Date, holidays: &Holidays) -> Date {
        match self {
            Span::Days(days) => from.saturating_add(Duration::days(i64::from(days))),
            Span::BusinessDays(count) => {
                let mut day = from;
                let mut left = count;
                while left > 0 {
                    day = day.saturating_add(Duration::days(1));
                    if holidays.is_business_day(day) {
                        left -= 1;
                    }
                }
                day
            }
            Span::Months(months) => add_months(from, months),
        }
    }
}

/// `from` plus `months` calendar months: the same day of the month, or the last day of the
/// month when it is shorter.
fn add_months(from: Date, months: u32) -> Date {
    let index = i64::from(from.month() as u8 - 1) + i64::from(months);
    let year = from.year() + i32::try_from(index / 12).unwrap_or(0);
    let month =
        Month::try_from(u8::try_from(index % 12 + 1).unwrap_or(1)).unwrap_or(Month::January);
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, from.day().min(last)).unwrap_or(from)
}

/// The number of business days from `from` to `to` (`from` not counted; negative when `to`
/// is earlier): how the admins' inbox says how old a request is, or how long is left.
pub fn business_days_between(from: Date, to: Date, holidays: &Holidays) -> i64 {
    let (start, end, sign) = if to >= from {
        (from, to, 1)
    } else {
        (to, from, -1)
    };
    let mut day = start;
    let mut count = 0;
    while day < end {
        day = day.saturating_add(Duration::days(1));
        if holidays.is_business_day(day) {
            count += 1;
        }
    }
    sign * count
}

/// How a community answers requests: the law its deadlines follow, and which kinds wait
/// for an admin's approval (the others are carried out at once for a verified requester).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Handling {
    /// The law.
    pub law: LawProfile,
    /// The kinds an admin approves, in [`RequestKind::ALL`] order.
    pub approved: Vec<RequestKind>,
}

impl Handling {
    /// The kinds a community may send to its admins. Opt-outs and limits are never held
    /// back: the law wants them honoured as soon as possible, with no verification.
    pub fn approvable() -> impl Iterator<Item = RequestKind> {
        RequestKind::ALL
            .into_iter()
            .filter(|k| k.needs_verification())
    }

    /// Handling under `law` with the kinds `codes` names (comma-separated, as stored) held
    /// for approval; unknown codes and kinds that cannot be held are left out.
    pub fn from_codes(law: LawProfile, codes: &str) -> Self {
        let named: Vec<&str> = codes.split(',').map(str::trim).collect();
        Self {
            law,
            approved: Self::approvable()
                .filter(|k| named.contains(&k.code()))
                .collect(),
        }
    }

    /// The kinds held for approval, as stored.
    pub fn codes(&self) -> String {
        self.approved
            .iter()
            .map(|k| k.code())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether a request of `kind` waits for an admin.
    pub fn needs_approval(&self, kind: RequestKind) -> bool {
        kind.needs_verification() && self.approved.contains(&kind)
    }
}

/// What a correction may name: the fields a member edits themself change at once; anything
/// else is for an admin to look into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorrectionTarget {
    /// The name shown to others.
    DisplayName,
    /// The "about" text of the profile.
    About,
    /// An answer to a community's profile question (the field's id).
    ProfileAnswer(i64),
    /// Anything else, in the requester's words (an address, a message wrongly attributed).
    Other,
}

impl CorrectionTarget {
    /// The target a form or the API names: `display_name`, `about`, `profile:<id>` or
    /// `other`.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "display_name" => Some(Self::DisplayName),
            "about" => Some(Self::About),
            "other" => Some(Self::Other),
            _ => code
                .strip_prefix("profile:")
                .and_then(|id| id.parse().ok())
                .map(Self::ProfileAnswer),
        }
    }

    /// The code it is stored and named by.
    pub fn code(&self) -> String {
        match self {
            Self::DisplayName => "display_name".into(),
            Self::About => "about".into(),
            Self::ProfileAnswer(id) => format!("profile:{id}"),
            Self::Other => "other".into(),
        }
    }

    /// Whether the member may make the change themself, so that it is made at once.
    pub fn self_editable(&self) -> bool {
        !matches!(self, Self::Other)
    }
}

/// One request as the yearly metrics count it (Cal. Code Regs. tit. 11, §7102).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// What it asked.
    pub kind: RequestKind,
    /// Where it stands.
    pub state: RequestState,
    /// Why it was refused, or, on a completed request, why a part of it was.
    pub denial: Option<DenialReason>,
    /// The day it was received.
    pub received: Date,
    /// The day it was answered, once it was.
    pub answered: Option<Date>,
}

/// The metrics of one kind of request in one calendar year.
#[derive(Debug, Clone, PartialEq)]
pub struct KindMetrics {
    /// The kind.
    pub kind: RequestKind,
    /// Received in the year.
    pub received: u32,
    /// Complied with in whole.
    pub complied_in_whole: u32,
    /// Complied with in part (the rest refused for a reason).
    pub complied_in_part: u32,
    /// Denied, by reason, in [`DenialReason::ALL`] order (reasons with none left out).
    pub denied: Vec<(DenialReason, u32)>,
    /// Still open.
    pub open: u32,
    /// The median of the calendar days from receipt to answer, over answered requests.
    pub median_days: Option<f64>,
    /// Their mean.
    pub mean_days: Option<f64>,
}

/// The metrics of every kind of request received in `year`, in [`RequestKind::ALL`] order.
pub fn yearly_metrics(year: i32, requests: &[Counted]) -> Vec<KindMetrics> {
    RequestKind::ALL
        .into_iter()
        .map(|kind| {
            let of_kind: Vec<&Counted> = requests
                .iter()
                .filter(|r| r.kind == kind && r.received.year() == year)
                .collect();
            let count = |f: &dyn Fn(&Counted) -> bool| {
                u32::try_from(of_kind.iter().filter(|r| f(r)).count()).unwrap_or(u32::MAX)
            };
            let denied = DenialReason::ALL
                .into_iter()
                .map(|reason| {
                    (
                        reason,
                        count(&|r| r.state == RequestState::Denied && r.denial == Some(reason)),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .collect();
            let mut days: Vec<i64> = of_kind
                .iter()
                .filter(|r| r.state.is_closed())
                .filter_map(|r| r.answered.map(|a| (a - r.received).whole_days()))
                .collect();
            days.sort_unstable();
            let (median_days, mean_days) = if days.is_empty() {
                (None, None)
            } else {
                let mid = days.len() / 2;
                let median = if days.len() % 2 == 1 {
                    days[mid] as f64
                } else {
                    (days[mid - 1] + days[mid]) as f64 / 2.0
                };
                let mean = days.iter().sum::<i64>() as f64 / days.len() as f64;
                (Some(median), Some((mean * 10.0).round() / 10.0))
            };
            KindMetrics {
                kind,
                received: count(&|_| true),
                complied_in_whole: count(&|r| {
                    r.state == RequestState::Completed && r.denial.is_none()
                }),
                complied_in_part: count(&|r| {
                    r.state == RequestState::Completed && r.denial.is_some()
                }),
                denied,
                open: count(&|r| !r.state.is_closed()),
                median_days,
                mean_days,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn us_holidays_2026() -> Holidays {
        Holidays::new(vec![
            date!(2026 - 01 - 01),
            date!(2026 - 01 - 19),
            date!(2026 - 02 - 16),
            date!(2026 - 05 - 25),
            date!(2026 - 07 - 03),
            date!(2026 - 09 - 07),
            date!(2026 - 11 - 11),
            date!(2026 - 11 - 26),
            date!(2026 - 11 - 27),
            date!(2026 - 12 - 25),
            date!(2027 - 01 - 01),
        ])
    }

    /// Law, kind, received, holidays; then acknowledge by, respond by, extended to.
    type Case<'a> = (
        LawProfile,
        RequestKind,
        Date,
        &'a Holidays,
        Option<Date>,
        Date,
        Option<Date>,
    );

    #[test]
    fn deadlines_under_every_law_across_weekends_holidays_and_extensions() {
        use LawProfile::*;
        use RequestKind::*;
        let none = Holidays::default();
        let us = us_holidays_2026();
        // (law, kind, received, holidays, acknowledge by, respond by, extended to)
        #[rustfmt::skip]
        let table: &[Case] = &[
            // CCPA, received on a Monday: 10 business days is two weeks on; 45 calendar days.
            (Ccpa, Access, date!(2026 - 03 - 02), &none, Some(date!(2026 - 03 - 16)), date!(2026 - 04 - 16), Some(date!(2026 - 05 - 31))),
            // Received on a Saturday: counting starts on Monday.
            (Ccpa, Delete, date!(2026 - 03 - 07), &none, Some(date!(2026 - 03 - 20)), date!(2026 - 04 - 21), Some(date!(2026 - 06 - 05))),
            // Thanksgiving week: the holidays push the confirmation out by two days.
            (Ccpa, Know, date!(2026 - 11 - 23), &us, Some(date!(2026 - 12 - 09)), date!(2027 - 01 - 07), Some(date!(2027 - 02 - 21))),
            (Ccpa, Know, date!(2026 - 11 - 23), &none, Some(date!(2026 - 12 - 07)), date!(2027 - 01 - 07), Some(date!(2027 - 02 - 21))),
            // Christmas and New Year's Day fall in the 10 business days.
            (Ccpa, Correct, date!(2026 - 12 - 21), &us, Some(date!(2027 - 01 - 06)), date!(2027 - 02 - 04), Some(date!(2027 - 03 - 21))),
            // Opt-out and limit: 15 business days, no confirmation, no extension.
            (Ccpa, OptOut, date!(2026 - 03 - 02), &none, None, date!(2026 - 03 - 23), None),
            (Ccpa, Limit, date!(2026 - 11 - 20), &us, None, date!(2026 - 12 - 15), None),
            // GDPR: one month, the same day of the month, or the month's last day.
            (Gdpr, Access, date!(2026 - 01 - 31), &none, None, date!(2026 - 02 - 28), Some(date!(2026 - 04 - 30))),
            (Gdpr, Delete, date!(2028 - 01 - 31), &none, None, date!(2028 - 02 - 29), Some(date!(2028 - 04 - 30))),
            (Gdpr, OptOut, date!(2026 - 12 - 15), &us, None, date!(2027 - 01 - 15), Some(date!(2027 - 03 - 15))),
            // Virginia and Colorado: 45 days plus 45.
            (Virginia, Access, date!(2026 - 03 - 02), &us, None, date!(2026 - 04 - 16), Some(date!(2026 - 05 - 31))),
            (Colorado, OptOut, date!(2026 - 12 - 31), &us, None, date!(2027 - 02 - 14), Some(date!(2027 - 03 - 31))),
        ];
        for &(law, kind, received, holidays, ack, respond, extended) in table {
            let due = law.deadlines(kind, received, holidays);
            assert_eq!(
                (due.acknowledge_by, due.respond_by, due.extended_to),
                (ack, respond, extended),
                "{law:?} {kind:?} received {received}"
            );
            assert_eq!(due.due(false), respond);
            assert_eq!(due.due(true), extended.unwrap_or(respond));
        }
    }

    #[test]
    fn business_days_skip_weekends_and_holidays_both_ways() {
        let us = us_holidays_2026();
        // Friday before Thanksgiving to the Wednesday after: Mon, Tue, Wed, (Thu, Fri off),
        // Mon, Tue, Wed.
        assert_eq!(
            business_days_between(date!(2026 - 11 - 20), date!(2026 - 12 - 02), &us),
            6
        );
        assert_eq!(
            business_days_between(date!(2026 - 12 - 02), date!(2026 - 11 - 20), &us),
            -6
        );
        assert_eq!(
            business_days_between(date!(2026 - 11 - 21), date!(2026 - 11 - 22), &us),
            0
        );
        assert!(!us.is_business_day(date!(2026 - 12 - 25)));
        let parsed = Holidays::parse(&["2026-12-25".to_string()]).unwrap_or_default();
        assert!(!parsed.is_business_day(date!(2026 - 12 - 25)));
        assert_eq!(
            Holidays::parse(&["25/12/2026".to_string()]),
            Err("25/12/2026".to_string())
        );
        assert!(us.is_business_day(date!(2026 - 12 - 24)));
    }

    #[test]
    fn a_request_moves_through_its_life_and_extends_once() {
        let law = LawProfile::Ccpa;
        let access = Lifecycle::received(RequestKind::Access);
        assert_eq!(access.state, RequestState::Received);
        // Nothing is done for an unverified requester.
        assert_eq!(
            access.after(RequestStep::Start, law),
            Err(StepRefused::NotVerified)
        );
        assert_eq!(
            access.after(RequestStep::Complete, law),
            Err(StepRefused::NotVerified)
        );
        // Nor is it kept waiting longer: it is confirmed or refused.
        assert_eq!(
            access.after(RequestStep::Extend, law),
            Err(StepRefused::NotVerified)
        );
        let verified = access.after(RequestStep::Verify, law).unwrap_or(access);
        assert_eq!(verified.state, RequestState::Verified);
        let extended = verified.after(RequestStep::Extend, law).unwrap_or(verified);
        assert_eq!(extended.state, RequestState::Extended);
        assert_eq!(
            extended.after(RequestStep::Extend, law),
            Err(StepRefused::ExtendedAlready)
        );
        let working = extended.after(RequestStep::Start, law).unwrap_or(extended);
        assert_eq!(working.state, RequestState::InProgress);
        assert!(working.extended, "the extension is remembered");
        let done = working.after(RequestStep::Complete, law).unwrap_or(working);
        assert_eq!(done.state, RequestState::Completed);
        assert_eq!(
            done.after(RequestStep::Deny(DenialReason::NothingHeld), law),
            Err(StepRefused::Closed)
        );
    }

    #[test]
    fn opt_outs_need_no_verification_no_extension_and_only_a_fraud_refusal() {
        let law = LawProfile::Ccpa;
        let opt_out = Lifecycle::received(RequestKind::OptOut);
        assert_eq!(opt_out.state, RequestState::Verified);
        assert_eq!(
            opt_out.after(RequestStep::Extend, law),
            Err(StepRefused::NoExtension)
        );
        assert_eq!(
            opt_out.after(RequestStep::Deny(DenialReason::CannotVerify), law),
            Err(StepRefused::ReasonDoesNotApply)
        );
        assert!(
            opt_out
                .after(RequestStep::Deny(DenialReason::Fraudulent), law)
                .is_ok()
        );
        // Under the GDPR an objection may be extended like any request.
        assert!(opt_out.after(RequestStep::Extend, LawProfile::Gdpr).is_ok());
    }

    #[test]
    fn denial_reasons_fit_their_kinds_and_speak_plainly() {
        for reason in DenialReason::ALL {
            assert_eq!(DenialReason::parse(reason.code()), Some(reason));
            assert!(reason.consumer_text().len() > 30);
            assert!(
                RequestKind::ALL.iter().any(|k| reason.applies_to(*k)),
                "{reason:?} applies to nothing"
            );
        }
        assert!(DenialReason::LikelyAccurate.applies_to(RequestKind::Correct));
        assert!(!DenialReason::LikelyAccurate.applies_to(RequestKind::Delete));
        assert!(DenialReason::TooFrequent.applies_to(RequestKind::Access));
        assert!(!DenialReason::TooFrequent.applies_to(RequestKind::Delete));
    }

    #[test]
    fn the_yearly_quota_flags_the_request_beyond_it() {
        // CCPA: two disclosures in twelve months; the third is beyond.
        assert!(!LawProfile::Ccpa.beyond_quota(RequestKind::Access, 1));
        assert!(LawProfile::Ccpa.beyond_quota(RequestKind::Access, 2));
        assert!(LawProfile::Ccpa.beyond_quota(RequestKind::Know, 2));
        // Deletions and opt-outs have no quota; nor does the GDPR.
        assert!(!LawProfile::Ccpa.beyond_quota(RequestKind::Delete, 10));
        assert!(!LawProfile::Gdpr.beyond_quota(RequestKind::Access, 10));
        assert!(LawProfile::Colorado.beyond_quota(RequestKind::Access, 1));
    }

    #[test]
    fn codes_round_trip() {
        for kind in RequestKind::ALL {
            assert_eq!(RequestKind::parse(kind.code()), Some(kind));
        }
        for law in LawProfile::ALL {
            assert_eq!(LawProfile::parse(law.code()), Some(law));
        }
        for state in [
            "received",
            "verified",
            "in_progress",
            "extended",
            "completed",
            "denied",
        ] {
            assert_eq!(
                RequestState::parse(state).map(RequestState::code),
                Some(state)
            );
        }
    }

    #[test]
    fn handling_holds_back_only_what_may_wait_for_an_admin() {
        let handling = Handling::from_codes(LawProfile::Gdpr, "delete, opt_out,access,bogus");
        assert_eq!(
            handling.approved,
            vec![RequestKind::Access, RequestKind::Delete]
        );
        assert_eq!(handling.codes(), "access,delete");
        assert!(handling.needs_approval(RequestKind::Delete));
        assert!(!handling.needs_approval(RequestKind::Know));
        assert!(!handling.needs_approval(RequestKind::OptOut));
        assert_eq!(Handling::from_codes(LawProfile::Ccpa, "").approved, vec![]);
        for code in ["display_name", "about", "profile:42", "other"] {
            assert_eq!(
                CorrectionTarget::parse(code).map(|t| t.code()),
                Some(code.to_string())
            );
        }
        assert_eq!(CorrectionTarget::parse("profile:x"), None);
        assert!(!CorrectionTarget::Other.self_editable());
    }

    #[test]
    fn yearly_metrics_count_and_time_each_kind() {
        let day = |d: Date| d;
        let rec = |kind, state, denial, received: Date, answered: Option<Date>| Counted {
            kind,
            state,
            denial,
            received: day(received),
            answered,
        };
        use RequestKind::*;
        use RequestState::*;
        let requests = [
            rec(
                Access,
                Completed,
                None,
                date!(2026 - 01 - 05),
                Some(date!(2026 - 01 - 05)),
            ),
            rec(
                Access,
                Completed,
                None,
                date!(2026 - 02 - 01),
                Some(date!(2026 - 02 - 11)),
            ),
            rec(
                Access,
                Denied,
                Some(DenialReason::TooFrequent),
                date!(2026 - 03 - 01),
                Some(date!(2026 - 03 - 04)),
            ),
            rec(Access, InProgress, None, date!(2026 - 12 - 30), None),
            rec(
                Delete,
                Completed,
                Some(DenialReason::LegalException),
                date!(2026 - 05 - 01),
                Some(date!(2026 - 05 - 08)),
            ),
            // Another year does not count.
            rec(
                Access,
                Completed,
                None,
                date!(2025 - 12 - 31),
                Some(date!(2026 - 01 - 02)),
            ),
        ];
        let report = yearly_metrics(2026, &requests);
        let access = report.iter().find(|m| m.kind == Access);
        assert_eq!(
            access.cloned(),
            Some(KindMetrics {
                kind: Access,
                received: 4,
                complied_in_whole: 2,
                complied_in_part: 0,
                denied: vec![(DenialReason::TooFrequent, 1)],
                open: 1,
                // 0, 3 and 10 days.
                median_days: Some(3.0),
                mean_days: Some(4.3),
            })
        );
        let delete = report.iter().find(|m| m.kind == Delete);
        assert_eq!(
            delete.map(|m| (m.complied_in_part, m.median_days)),
            Some((1, Some(7.0)))
        );
        let know = report.iter().find(|m| m.kind == Know);
        assert_eq!(know.map(|m| (m.received, m.median_days)), Some((0, None)));
        assert_eq!(report.len(), RequestKind::ALL.len());
    }
}
