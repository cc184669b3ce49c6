//go:build race

package integration

// raceEnabled: the race detector's shadow memory grows with every address
// the program touches, so RSS says little about leaks under -race.
const raceEnabled = true
