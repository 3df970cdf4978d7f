package spec

import (
	"fmt"
	"strings"
)

// suggest returns ", did you mean `x`?" for the candidate closest to word, or
// a list of the candidates when none is close.
func suggest(word string, candidates []string) string {
	if s := didYouMean(word, candidates); s != "" {
		return s
	}
	if len(candidates) > 0 && len(candidates) <= 12 {
		return fmt.Sprintf(" (known: %s)", strings.Join(candidates, ", "))
	}
	return ""
}

// didYouMean returns ", did you mean `x`?" when a candidate is close to word.
func didYouMean(word string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(word), strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	limit := len(word) / 3
	if limit < 2 {
		limit = 2
	}
	if bestDist <= limit || (word != "" && (strings.HasPrefix(best, word) || strings.HasPrefix(word, best))) {
		return fmt.Sprintf(", did you mean `%s`?", best)
	}
	return ""
}

// levenshtein is the edit distance between a and b.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Suggest is suggest for checks outside this package (see Check).
func Suggest(word string, candidates []string) string { return suggest(word, candidates) }

// EditDistance is the Levenshtein distance between a and b, for suggestions
// made outside this package.
func EditDistance(a, b string) int { return levenshtein(a, b) }
