//! `Debug` that leaves personal data and secrets out. Types that hold emails, password hashes,
//! names people chose, message text or secret codes implement `Debug` with [`debug_fields!`],
//! naming the fields that are safe to print (ids, times, flags), so that a stray `{:?}` in a
//! log line or a panic message never carries them. A field added later stays out until someone
//! decides it is safe.

/// Implements `Debug` for a struct, printing only the named fields and `..` for the rest.
///
/// ```
/// struct Person { id: i64, email: String }
/// hearth_core::debug_fields!(Person { id });
/// let printed = format!("{:?}", Person { id: 7, email: "a@example.org".into() });
/// assert_eq!(printed, "Person { id: 7, .. }");
/// ```
#[macro_export]
macro_rules! debug_fields {
    ($name:ident $(<$lifetime:lifetime>)? { $($field:ident),* $(,)? }) => {
        impl ::std::fmt::Debug for $name $(<$lifetime>)? {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}
