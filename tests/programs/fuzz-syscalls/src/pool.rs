//! A fixed-capacity list without the heap: the fuzzer's memory of what it holds.

/// Up to `N` values of `T`, in no particular order.
pub struct Pool<T: Copy + Default + PartialEq, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy + Default + PartialEq, const N: usize> Pool<T, N> {
    pub fn new() -> Self {
        Pool {
            items: [T::default(); N],
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// Adds `item`; false when the pool is full.
    pub fn push(&mut self, item: T) -> bool {
        if self.is_full() {
            return false;
        }
        self.items[self.len] = item;
        self.len += 1;
        true
    }

    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }

    pub fn contains(&self, item: T) -> bool {
        self.as_slice().contains(&item)
    }

    /// Removes the item at `index` (the last one takes its place) and returns it.
    pub fn take(&mut self, index: usize) -> T {
        let item = self.items[index];
        self.len -= 1;
        self.items[index] = self.items[self.len];
        item
    }

    /// Removes every copy of `item`.
    pub fn remove(&mut self, item: T) {
        while let Some(index) = self.as_slice().iter().position(|&held| held == item) {
            self.take(index);
        }
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}
