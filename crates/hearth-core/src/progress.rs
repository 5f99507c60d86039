//! Progress of long work (a copy of someone's data, an erasure), for whoever started it to
//! follow: the command line draws it as a bar.

use std::sync::Arc;

/// Told, as the work goes, how many of how many steps are done and what comes next.
pub type Progress = Arc<dyn Fn(usize, usize, &str) + Send + Sync>;
