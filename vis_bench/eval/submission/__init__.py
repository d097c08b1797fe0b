"""Before a server sees a results file: checks with their locations (`validate`, with the OVIS
evaluator's abort cases in `validate_ovis`) and the CodaLab zip (`archive`)."""
