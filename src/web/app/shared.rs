//! [`Shared`]: big data in props, compared by identity.

use std::rc::Rc;

/// Shared, cheaply compared data for props: equality is identity, so a component re-renders only when
/// the data was recomputed, never because comparing two big matrices was needed.
pub struct Shared<T>(pub Rc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
