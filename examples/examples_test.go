package examples

import (
	"bytes"
	"io/fs"
	"reflect"
	"testing"
)

func TestFiles(t *testing.T) {
	got, err := fs.Glob(Files(), "*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"incidents/cloudflare-2022-06-21.yaml",
		"incidents/crowdstrike-2024-07-19.yaml",
		"incidents/fastly-2021-06-08.yaml",
		"incidents/kakao-2021-05-05.yaml",
		"incidents/kakao-2022-10-15.yaml",
		"incidents/roblox-2021-10-28.yaml",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bundled timelines = %v, want %v", got, want)
	}
}

func TestReadFile(t *testing.T) {
	tests := []struct {
		name    string
		wantErr bool
	}{
		{"demo.yaml", false},
		{"./demo.yaml", false},
		{"incidents/kakao-2022-10-15.yaml", false},
		{"../demo.yaml", true},
		{"missing.yaml", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := ReadFile(tc.name)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ReadFile(%q) error = %v, want error %v", tc.name, err, tc.wantErr)
			}
			if !tc.wantErr && len(data) == 0 {
				t.Errorf("ReadFile(%q) is empty", tc.name)
			}
		})
	}
	if d, _ := ReadFile(DemoPath); !bytes.Equal(d, DemoConfig()) {
		t.Error("DemoConfig differs from demo.yaml")
	}
}
