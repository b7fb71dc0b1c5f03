// A fixed-size array for the large per-RPC tables (the RPC slab, the RPC index, a worker's send
// slots), in memory from TableMemory hooks: the dataplane passes huge-page memory
// (mem/table_memory.h), so that touching thousands of scattered RPCs does not cost a TLB miss
// each. Sized once (create), never grown: the datapath does not allocate.
//
// Ownership: the array owns its elements and memory, released by the destructor or reset().
// Threading: like the table that holds it (one lcore). Errors: none reported; when the hooks
// return nullptr the array falls back to operator new, and mapped() tells which was used.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>

namespace homa {

/** Optional memory for large tables. `map` returns `bytes` of writable memory aligned to at
 *  least 64 bytes, or nullptr; `unmap` gets back the pointer and the same bytes. Both null:
 *  operator new. ctx is passed through; the hooks must outlive every table made with them. */
struct TableMemory {
    void *ctx = nullptr;
    void *(*map)(void *ctx, size_t bytes) = nullptr;
    void (*unmap)(void *ctx, void *p, size_t bytes) = nullptr;
};

template <typename T>
class TableArray {
  public:
    TableArray() = default;
    ~TableArray() { reset(); }
    TableArray(const TableArray &) = delete;
    TableArray &operator=(const TableArray &) = delete;

    /** Replaces the contents with n value-initialised elements (T{}) in memory from `mem`. */
    void create(size_t n, const TableMemory &mem) {
        reset();
        if (n == 0) return;
        const size_t bytes = n * sizeof(T);
        void *p = mem.map ? mem.map(mem.ctx, bytes) : nullptr;
        if (p != nullptr) {
            mem_ = mem;
        } else {
            p = ::operator new(bytes, kHeapAlign);
            mem_ = TableMemory{};
        }
        p_ = static_cast<T *>(p);
        n_ = n;
        for (size_t i = 0; i < n; ++i) new (p_ + i) T{};
    }

    void reset() noexcept {
        if (p_ == nullptr) return;
        if constexpr (!std::is_trivially_destructible_v<T>) {
            for (size_t i = 0; i < n_; ++i) p_[i].~T();
        }
        if (mem_.unmap != nullptr) {
            mem_.unmap(mem_.ctx, p_, n_ * sizeof(T));
        } else {
            ::operator delete(p_, kHeapAlign);
        }
        p_ = nullptr;
        n_ = 0;
        mem_ = TableMemory{};
    }

    /** True when the memory came from the TableMemory hooks (not the operator new fallback). */
    bool mapped() const noexcept { return mem_.unmap != nullptr; }

    T &operator[](size_t i) noexcept { return p_[i]; }
    const T &operator[](size_t i) const noexcept { return p_[i]; }
    T *data() noexcept { return p_; }
    const T *data() const noexcept { return p_; }
    size_t size() const noexcept { return n_; }
    bool empty() const noexcept { return n_ == 0; }
    T *begin() noexcept { return p_; }
    T *end() noexcept { return p_ + n_; }
    const T *begin() const noexcept { return p_; }
    const T *end() const noexcept { return p_ + n_; }

  private:
    // The heap fallback keeps entries on cache-line boundaries, as the mapped memory does.
    static constexpr std::align_val_t kHeapAlign{alignof(T) < 64 ? 64 : alignof(T)};
    T *p_ = nullptr;
    size_t n_ = 0;
    TableMemory mem_;
};

}  // namespace homa
