/* The atom table: one zero-size block per tag, static in every process.
 *
 * An atom is the value of a zero-size block. Like OCaml's caml_atom_table,
 * the table holds 256 headers; atom(tag) points just past header[tag], so its
 * "first field" is the next header (it has no fields to read). Being static
 * data, the table sits at the same address in every process forked from the
 * same executable, which is what lets values share atoms across workers.
 */
#include "nmc/value.h"

/* Entry tag + 1 is the address of atom(tag); the extra word keeps
 * atom(255) inside the object. Writable data, not const: a collector may set
 * colour bits in an atom's header as it does in any other. */
static nmc_header atom_table[256 + 1] = {
#define NMC_ATOM_HD4(t)                                                        \
    nmc_make_header(0, (t), NMC_COLOR_WHITE),                                  \
        nmc_make_header(0, (t) + 1, NMC_COLOR_WHITE),                          \
        nmc_make_header(0, (t) + 2, NMC_COLOR_WHITE),                          \
        nmc_make_header(0, (t) + 3, NMC_COLOR_WHITE)
#define NMC_ATOM_HD16(t)                                                       \
    NMC_ATOM_HD4(t), NMC_ATOM_HD4((t) + 4), NMC_ATOM_HD4((t) + 8),            \
        NMC_ATOM_HD4((t) + 12)
#define NMC_ATOM_HD64(t)                                                       \
    NMC_ATOM_HD16(t), NMC_ATOM_HD16((t) + 16), NMC_ATOM_HD16((t) + 32),       \
        NMC_ATOM_HD16((t) + 48)
    NMC_ATOM_HD64(0), NMC_ATOM_HD64(64), NMC_ATOM_HD64(128), NMC_ATOM_HD64(192),
#undef NMC_ATOM_HD64
#undef NMC_ATOM_HD16
#undef NMC_ATOM_HD4
};

nmc_value nmc_atom(unsigned tag)
{
    return (nmc_value)&atom_table[(tag & 0xFFu) + 1];
}

bool nmc_is_atom(nmc_value v)
{
    uintptr_t first = (uintptr_t)&atom_table[1];
    uintptr_t last = (uintptr_t)&atom_table[256];
    return v >= first && v <= last && (v - first) % sizeof(nmc_header) == 0;
}
