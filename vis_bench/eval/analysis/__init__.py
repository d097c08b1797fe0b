"""Why a score is what it is: error diagnosis (`diagnose`), identity switches and
fragmentation (`identity`) and the TrackEval tracking metrics (`tracking`)."""
