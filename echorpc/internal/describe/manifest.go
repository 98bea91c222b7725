package describe

// Manifest is what GET Prefix/manifest.json answers, ready to encode.
type Manifest struct {
	Name      string             `json:"name"`
	Endpoint  string             `json:"endpoint"`
	Protocol  string             `json:"protocol"`
	MaxBatch  int                `json:"maxBatch"`
	Channel   string             `json:"channel,omitempty"` // the shared stream connection's URL path, when it is offered
	Hash      string             `json:"hash,omitempty"`    // of the instance's whole description (echorpctest.Description)
	Functions []Entry            `json:"functions"`
	Defs      map[string]*Schema `json:"$defs,omitempty"`
}

// Entry is one function in the manifest.
type Entry struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Idempotent  bool    `json:"idempotent"`
	Stream      bool    `json:"stream,omitempty"`
	Files       bool    `json:"files,omitempty"`
	Download    bool    `json:"download,omitempty"`
	Query       bool    `json:"query,omitempty"`
	Allowed     bool    `json:"allowed"`
	Rules       *Rules  `json:"rules,omitempty"`
	Input       *Schema `json:"input"`
	Output      *Schema `json:"output"`
}

// NewManifest describes the instance's functions for the manifest served
// at endpoint (the instance's path as the caller asked for it).
func NewManifest(in Instance, endpoint string) Manifest {
	g := newGenerator(defsRef, in.FileType)
	entries := make([]Entry, 0, len(in.Functions))
	for i := range in.Functions {
		f := &in.Functions[i]
		entries = append(entries, Entry{
			Name:        f.Name,
			Description: f.summary(in.Path),
			Idempotent:  f.Idempotent,
			Stream:      f.Stream,
			Files:       f.Files,
			Download:    f.Download,
			Query:       f.Query,
			Allowed:     f.Allowed,
			Rules:       f.Rules,
			Input:       g.of(f.In),
			Output:      g.of(f.Out),
		})
	}
	return Manifest{
		Name:      in.Name,
		Endpoint:  endpoint,
		Protocol:  "weerpc/1.1",
		MaxBatch:  in.MaxBatch,
		Functions: entries,
		Defs:      g.defs,
	}
}
