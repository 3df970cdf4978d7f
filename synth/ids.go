package synth

import (
	"hash/fnv"
	"strconv"
	"time"
)

// Identifiers are derived from counters through bijections, so distinct
// counters can never collide, yet the ids look as random as real ones. No id
// depends on a global draw order, which keeps the dry cost pass and the
// emitting pass in step.

const mask48 = 1<<48 - 1

// perm48 is a bijection on [0, 2^48): odd multipliers and xorshifts are
// invertible modulo a power of two.
func perm48(x uint64) uint64 {
	x = (x + 0x3C6EF372FE94) & mask48 // so that 0 does not map to 0
	x = (x * 0x9E3779B97F4B) & mask48
	x ^= x >> 23
	x = (x * 0xD6E8FEB86659) & mask48
	x ^= x >> 19
	return x
}

// numericID is a 15-digit id (run ids, task run ids, job ids).
func numericID(n uint64) string {
	return strconv.FormatUint(100_000_000_000_000+perm48(n), 10)
}

// runKey numbers the runs, task runs and clusters of one job: job index in
// the high bits, a per-job sequence in the low 24.
func runKey(job int, seq int) uint64 { return uint64(job)<<24 | uint64(seq) }

const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"

// clusterID looks like Databricks' MMDD-HHMMSS-xxxxxxxx. The last part is a
// bijection of n modulo 36^8 (the multiplier is coprime to 36), so it alone
// makes the id unique.
func clusterID(created time.Time, n uint64) string {
	const mod = 36 * 36 * 36 * 36 * 36 * 36 * 36 * 36
	x := (n % mod) * 25214903917 % mod
	b := created.UTC().AppendFormat(make([]byte, 0, 20), "0102-150405-")
	for range 8 {
		b = append(b, base36[x%36])
		x /= 36
	}
	return string(b)
}

// hash64 is a stable string hash (maphash is seeded per process).
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return splitmix(h.Sum64())
}

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

// principalID is the numeric id Databricks shows for a user or principal.
func principalID(name string) string {
	return strconv.FormatUint(1_000_000_000_000_000+hash64("principal", name)%9_000_000_000_000_000, 10)
}

// recordID is a UUID-shaped id; its last 12 digits are a bijection of n.
func recordID(seed int64, n uint64) string {
	h := splitmix(uint64(seed) ^ n*0x2545F4914F6CDD1D)
	var b [36]byte
	hexInto(b[0:8], h>>32)
	b[8] = '-'
	hexInto(b[9:13], h>>16)
	b[13] = '-'
	hexInto(b[14:18], 0x4000|h&0xfff)
	b[18] = '-'
	hexInto(b[19:23], 0x8000|h>>48&0x3fff)
	b[23] = '-'
	hexInto(b[24:36], perm48(n))
	return string(b[:])
}

// hexInto writes the low len(b) hex digits of x (fmt is too slow for
// millions of ids).
func hexInto(b []byte, x uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = base36[x&15]
		x >>= 4
	}
}

// instanceID names one VM of a cluster session.
func instanceID(cluster string, session, node int) string {
	h := splitmix(hash64("vm", cluster) ^ uint64(session)<<20 ^ uint64(node))
	var b [32]byte
	hexInto(b[:16], h)
	hexInto(b[16:], splitmix(h))
	return string(b[:])
}
